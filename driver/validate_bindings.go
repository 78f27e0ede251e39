package driver

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/iisrules"
)

// bindings validates the binding blocks and resolves their ports.
func (v *validator) bindings(tc *TaskConfig, cfg *drivers.TaskConfig, p *taskPlan) {
	if n := len(tc.Bindings); n > maxBindings {
		v.fail("binding", "%d blocks given; at most %d are allowed", n, maxBindings)
		return
	}
	taskDir := filepath.Join(cfg.AllocDir, cfg.Name)
	seen := map[string]string{}
	var planned []plannedBinding
	for i, bc := range tc.Bindings {
		field := fmt.Sprintf("binding[%d]", i)
		b := ps.BindingSpec{IPAddress: "*", Hostname: strings.ToLower(strings.TrimSpace(bc.Hostname))}
		b.Protocol, _ = v.enum(field+".type", bc.Type, bindingTypes)
		if b.Protocol != "" {
			b.Protocol = strings.ToLower(b.Protocol)
		}
		if err := iisrules.CheckHostname(b.Hostname); err != nil {
			v.fail(field+".hostname", "%q is not a host name; use letters, digits, dots and dashes, optionally behind \"*.\"", bc.Hostname)
		}
		if ip := strings.TrimSpace(bc.IPAddress); ip != "" && ip != "*" {
			if net.ParseIP(strings.Trim(ip, "[]")) == nil {
				v.fail(field+".ip_address", "%q is not an IP address; use an address of this node or \"*\"", bc.IPAddress)
			}
			b.IPAddress = ip
		}
		b.Port = v.port(field+".port", bc.Port, b.Hostname, cfg.Resources)
		key := fmt.Sprintf("%s:%d:%s", b.IPAddress, b.Port, b.Hostname)
		prev, dup := seen[key]
		if dup && b.Port != 0 {
			v.fail(field, "binding %s is the same as %s", key, prev)
		}
		seen[key] = field

		if len(bc.Certificates) > 1 {
			v.fail(field+".certificate", "%d blocks given; at most one is allowed", len(bc.Certificates))
		}
		var certificate string
		if b.Protocol == "https" {
			b.RequireSNI = bc.RequireSNI != nil && *bc.RequireSNI
			if b.RequireSNI && b.Hostname == "" {
				v.fail(field+".require_sni", "SNI needs a hostname; set hostname or leave require_sni out")
			}
			if len(bc.Certificates) == 0 {
				v.fail(field+".certificate", "an https binding needs a certificate block (thumbprint, pfx_file, cert_file + key_file or use_self_signed)")
			} else if imp, tp, ok := v.certificate(field+".certificate", bc.Certificates[0], b.Hostname, taskDir); ok {
				b.CertificateThumbprint = tp
				certificate = tp
				if imp != nil {
					p.certImports = append(p.certImports, certImport{binding: len(p.spec.Bindings), args: *imp})
					certificate = importIdentity(imp)
				}
			}
		} else if b.Protocol == "http" {
			if bc.RequireSNI != nil && *bc.RequireSNI {
				v.warn(field+".require_sni", "ignored: SNI applies to https bindings only")
			}
			if len(bc.Certificates) > 0 {
				v.warn(field+".certificate", "ignored: certificates apply to https bindings only")
			}
		}
		// IIS's binding rules among the task's own bindings; a duplicate
		// was reported above.
		if b.Port != 0 && b.Protocol != "" && !dup {
			rb := iisrules.Binding{Protocol: b.Protocol, IPAddress: b.IPAddress, Port: b.Port, Hostname: b.Hostname, SNI: b.RequireSNI, Certificate: certificate}
			for _, other := range planned {
				if err := iisrules.Conflict(other.rule, rb, true); err != nil {
					v.fail(field, "conflicts with %s: %v", other.field, err)
					break
				}
			}
			planned = append(planned, plannedBinding{field: field, rule: rb})
		}
		p.spec.Bindings = append(p.spec.Bindings, b)
	}
}

// plannedBinding is a validated binding as the binding rules see it.
type plannedBinding struct {
	field string
	rule  iisrules.Binding
}

// importIdentity tells the certificates of two imports apart before they
// are imported: the same file (or the same self-signed host name) gives the
// same certificate.
func importIdentity(imp *ps.ImportCertificateArgs) string {
	switch {
	case imp.PfxPath != "":
		return "pfx:" + imp.PfxPath
	case imp.CertPath != "":
		return "pem:" + imp.CertPath + "|" + imp.KeyPath
	default:
		return "self-signed:" + imp.Hostname
	}
}

// port resolves a binding's port: a label of the task's network, or a
// static number, which needs a hostname so that several sites share it.
func (v *validator) port(field, port, hostname string, res *drivers.Resources) int {
	port = strings.TrimSpace(port)
	if port == "" {
		v.fail(field, "must not be empty; use a port label of the group's network block")
		return 0
	}
	if n, err := strconv.Atoi(port); err == nil {
		switch r := iisrules.Port; {
		case int64(n) < r.Min || int64(n) > r.Max:
			v.fail(field, "%d is out of range; use %d to %d or a port label", n, r.Min, r.Max)
		case hostname == "":
			v.fail(field, "static port %d needs a hostname (sites share static ports by host name); set hostname or use a port label", n)
		}
		return n
	}
	if n, ok := lookupPort(res, port); ok {
		return n
	}
	v.fail(field, "%q is not a port label of this task; use one of %s", port, quoteListOrNone(portLabels(res)))
	return 0
}

// certificate validates a certificate block. It returns the import to make
// (nil for a thumbprint) or the thumbprint to use.
func (v *validator) certificate(field string, cc CertificateConfig, hostname, taskDir string) (*ps.ImportCertificateArgs, string, bool) {
	var sources []string
	if cc.Thumbprint != "" {
		sources = append(sources, "thumbprint")
	}
	if cc.PfxFile != "" {
		sources = append(sources, "pfx_file")
	}
	if cc.CertFile != "" || cc.KeyFile != "" {
		sources = append(sources, "cert_file + key_file")
	}
	if cc.UseSelfSigned {
		sources = append(sources, "use_self_signed")
	}
	switch len(sources) {
	case 0:
		v.fail(field, "set one of thumbprint, pfx_file, cert_file + key_file or use_self_signed")
		return nil, "", false
	case 1:
	default:
		// nomad-iis used the first one; say which.
		v.warn(field, "%s are set; only %s is used", strings.Join(sources, ", "), sources[0])
	}
	switch sources[0] {
	case "thumbprint":
		tp := strings.ToUpper(nonHex.ReplaceAllString(cc.Thumbprint, ""))
		if len(tp) != 40 {
			v.fail(field+".thumbprint", "%q is not a SHA-1 thumbprint (40 hex digits)", cc.Thumbprint)
			return nil, "", false
		}
		return nil, tp, true
	case "pfx_file":
		path := v.existingFile(field+".pfx_file", cc.PfxFile, taskDir)
		return &ps.ImportCertificateArgs{PfxPath: path, Password: cc.Password}, "", path != ""
	case "cert_file + key_file":
		if cc.CertFile == "" || cc.KeyFile == "" {
			v.fail(field, "cert_file and key_file go together; set both (they may name the same file)")
			return nil, "", false
		}
		cert := v.existingFile(field+".cert_file", cc.CertFile, taskDir)
		key := v.existingFile(field+".key_file", cc.KeyFile, taskDir)
		return &ps.ImportCertificateArgs{CertPath: cert, KeyPath: key}, "", cert != "" && key != ""
	default:
		host := hostname
		if host == "" || strings.HasPrefix(host, "*.") {
			host = "localhost"
		}
		return &ps.ImportCertificateArgs{SelfSigned: true, Hostname: host}, "", true
	}
}

// lookupPort finds the host port of a port label: in the group network
// (Resources.Ports) or a task-level network block.
func lookupPort(res *drivers.Resources, label string) (int, bool) {
	if res == nil {
		return 0, false
	}
	if res.Ports != nil {
		if m, ok := res.Ports.Get(label); ok {
			return m.Value, true
		}
	}
	if res.NomadResources != nil {
		for _, n := range res.NomadResources.Networks {
			for _, p := range append(append(n.ReservedPorts[:0:0], n.ReservedPorts...), n.DynamicPorts...) {
				if p.Label == label {
					return p.Value, true
				}
			}
		}
	}
	return 0, false
}

// portLabels lists the port labels available to a task.
func portLabels(res *drivers.Resources) []string {
	var out []string
	if res == nil {
		return nil
	}
	if res.Ports != nil {
		for _, m := range *res.Ports {
			out = append(out, m.Label)
		}
	}
	if res.NomadResources != nil {
		for _, n := range res.NomadResources.Networks {
			for _, p := range append(append(n.ReservedPorts[:0:0], n.ReservedPorts...), n.DynamicPorts...) {
				out = append(out, p.Label)
			}
		}
	}
	return out
}
