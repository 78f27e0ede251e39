package iisrules

import (
	"fmt"
	"net"
	"strings"
)

// Binding is what the binding rules look at: a site binding as
// "<protocol> <ip>:<port>:<host>", its SNI flag and its certificate.
type Binding struct {
	Protocol  string
	IPAddress string
	Port      int
	Hostname  string
	// SNI is sslFlags' SNI bit of an https binding.
	SNI bool
	// Certificate identifies an https binding's certificate: its
	// thumbprint, or anything that tells two certificates apart (the
	// driver uses the source it imports from). Two bindings with the same
	// non-empty Certificate use one certificate.
	Certificate string
}

// String renders the binding as IIS shows it: "https *:443:shop.example".
func (b Binding) String() string {
	ip := b.IPAddress
	if ip == "" {
		ip = "*"
	}
	s := fmt.Sprintf("%s %s:%d:%s", b.Protocol, ip, b.Port, b.Hostname)
	if b.SNI {
		s += " (SNI)"
	}
	return s
}

// IsWildcard reports whether ip is an address that listens on every
// address of the machine: "*" (IIS's "All Unassigned"), "" or "0.0.0.0"
// (HTTP.sys's wildcard IP:port registration).
func IsWildcard(ip string) bool {
	ip = strings.Trim(strings.TrimSpace(ip), "[]")
	return ip == "" || ip == "*" || ip == "0.0.0.0"
}

// EndpointsOverlap reports whether a and b listen on a common IP:port: the
// same port, and the same address or a wildcard on either side.
func EndpointsOverlap(a, b Binding) bool {
	if a.Port != b.Port {
		return false
	}
	if IsWildcard(a.IPAddress) || IsWildcard(b.IPAddress) {
		return true
	}
	return sameIP(a.IPAddress, b.IPAddress)
}

func sameIP(a, b string) bool {
	ia, ib := net.ParseIP(strings.Trim(a, "[]")), net.ParseIP(strings.Trim(b, "[]"))
	if ia == nil || ib == nil {
		return strings.EqualFold(a, b)
	}
	return ia.Equal(ib)
}

// Conflict says why bindings a and b cannot both exist, or returns nil.
// sameSite is true when both belong to one site (one request); bindings of
// different sites are held to more, because a change to an IP:port's TLS
// registration applies to every site on it. The rules:
//
//   - An IP:port is either http or https: bindings of both protocols on
//     overlapping endpoints conflict.
//   - Two bindings of one protocol with the same host name on overlapping
//     endpoints conflict across sites (requests could reach either); in
//     one site, only the same address twice does.
//   - HTTP.sys keeps one certificate per IP:port for https without SNI
//     (netsh http sslcert ipport=...): two non-SNI https bindings on
//     overlapping endpoints conflict across sites whatever their host
//     names (a change or removal of one changes or removes the other's
//     certificate, KB2405568), and in one site unless they use the same
//     certificate.
//   - SNI registrations are keyed by host name and port, whatever the IP
//     address (netsh http sslcert hostnameport=...): two SNI https bindings
//     with the same host name and port conflict across sites, and in one
//     site unless they use the same certificate.
func Conflict(a, b Binding, sameSite bool) error {
	https := a.Protocol == "https" && b.Protocol == "https"
	sameHost := strings.EqualFold(a.Hostname, b.Hostname)
	sameCert := a.Certificate != "" && a.Certificate == b.Certificate
	if https && a.SNI && b.SNI && a.Port == b.Port && sameHost {
		if !sameSite || !sameCert {
			return fmt.Errorf("%s and %s: SNI certificates are registered by host name and port (%s:%d) whatever the IP address, so both cannot have their own", a, b, a.Hostname, a.Port)
		}
	}
	if !EndpointsOverlap(a, b) {
		return nil
	}
	if a.Protocol != b.Protocol {
		return fmt.Errorf("%s and %s: one IP:port serves either http or https (\"*\" and 0.0.0.0 overlap every address)", a, b)
	}
	if sameHost {
		if !sameSite || sameIPSpec(a.IPAddress, b.IPAddress) {
			return fmt.Errorf("%s and %s: the same host name on the same IP:port (\"*\" and 0.0.0.0 overlap every address)", a, b)
		}
	}
	if https && !a.SNI && !b.SNI && (!sameSite || !sameCert) {
		return fmt.Errorf("%s and %s: without SNI, HTTP.sys holds one certificate per IP:port (\"*\" and 0.0.0.0 overlap every address); require SNI with a host name, or use another port", a, b)
	}
	return nil
}

// sameIPSpec reports whether two binding addresses are written for the same
// address ("*", "" and 0.0.0.0 being one).
func sameIPSpec(a, b string) bool {
	if IsWildcard(a) || IsWildcard(b) {
		return IsWildcard(a) && IsWildcard(b)
	}
	return sameIP(a, b)
}
