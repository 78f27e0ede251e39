package contract

// hexThumbprint matches a Windows certificate thumbprint.
const hexThumbprint = `^[0-9A-F]{40}$`
