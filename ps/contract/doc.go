// Package contract holds the contract test suite: one table of scenarios
// that exercise every operation of package ps from the outside, as a user
// of IIS would see them (HTTP requests to 127.0.0.1, TLS certificates,
// pool states, worker PIDs, request logs), against either backend:
//
//	go test ./ps/contract                                       # iissim (Linux, macOS)
//	NOMAD_IIS_CONTRACT_BACKEND=powershell go test ./ps/contract # PowerShell + IIS (Windows)
//
// The powershell backend is the default on Windows. It runs the scripts of
// package scripts with Windows PowerShell (NOMAD_IIS_POWERSHELL names another
// executable, such as pwsh) and needs an elevated shell, IIS with the
// management scripting tools and ASP.NET 4.x (IIS-ASPNET45: the suite's .aspx
// pages show environment variables and worker PIDs). Both backends must pass
// the same scenarios; the package has no non-test code besides this comment.
package contract
