package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/daemonless/containerd/remotes/docker"
)

// hostSpec is one endpoint as the configuration describes it.
type hostSpec struct {
	// scheme is "http" or "https"; "" when the configuration did not say.
	scheme string
	// host is host[:port]; "" for the registry itself.
	host string
	// path is the API root.
	path string
	// caps are the capabilities, when capsSet; else the default.
	caps       docker.HostCapabilities
	capsSet    bool
	mirror     bool
	ca         []string
	clients    [][2]string // certificate and key files; key "" when in the certificate's file
	skipVerify *bool
	header     http.Header
	dial       time.Duration
}

// hasTLS reports whether the configuration set anything about TLS.
func (s *hostSpec) hasTLS() bool {
	return len(s.ca) > 0 || len(s.clients) > 0 || s.skipVerify != nil
}

// fileHost is a host's table in hosts.toml, and the file's top level.
type fileHost struct {
	Capabilities []string       `toml:"capabilities"`
	CA           any            `toml:"ca"`
	Client       any            `toml:"client"`
	SkipVerify   *bool          `toml:"skip_verify"`
	Header       map[string]any `toml:"header"`
	OverridePath bool           `toml:"override_path"`
	DialTimeout  string         `toml:"dial_timeout"`
}

type hostsFile struct {
	Server string `toml:"server"`
	fileHost
	Hosts map[string]fileHost `toml:"host"`
}

// hostsFileError is an error in a hosts.toml file.
func hostsFileError(file string, line int, format string, args ...any) error {
	where := file
	if line > 0 {
		where = fmt.Sprintf("%s: line %d", file, line)
	}
	return fmt.Errorf("hosts file %s: %s: %w", where, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
}

// parseHostsFile parses the hosts.toml at file, whose content is data,
// into the endpoints it describes: mirrors in the order of the file, then
// the upstream.
func parseHostsFile(file string, data []byte) ([]hostSpec, error) {
	order, lines, err := scanHostsFile(file, data)
	if err != nil {
		return nil, err
	}
	var f hostsFile
	if err := toml.Unmarshal(data, &f); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			msg := withoutGoNames(strings.TrimPrefix(de.Error(), "toml: "))
			if key := keyAtLine(lines, row); key != "" {
				msg = key + ": " + msg
			}
			return nil, hostsFileError(file, row, "column %d: %s", col, msg)
		}
		return nil, hostsFileError(file, 0, "%s", strings.TrimPrefix(err.Error(), "toml: "))
	}
	for _, name := range slices.Sorted(maps.Keys(f.Hosts)) {
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	dir := filepath.Dir(file)
	var specs []hostSpec
	for _, name := range order {
		at := func(key string) int {
			if l, ok := lines["host\x00"+name+"\x00"+key]; ok {
				return l
			}
			return lines["host\x00"+name]
		}
		s, err := hostSpecOf(file, dir, name, f.Hosts[name], at)
		if err != nil {
			return nil, err
		}
		s.mirror = true
		specs = append(specs, s)
	}
	s, err := hostSpecOf(file, dir, f.Server, f.fileHost, func(key string) int { return lines[key] })
	if err != nil {
		return nil, err
	}
	return append(specs, s), nil
}

// withoutGoNames drops the Go field name from a go-toml type error,
// which means nothing to the file's author.
func withoutGoNames(msg string) string {
	const from, to = "struct field ", " of type"
	i := strings.Index(msg, from)
	if i < 0 {
		return msg
	}
	j := strings.Index(msg[i:], to)
	if j < 0 {
		return msg
	}
	return msg[:i] + "a value of type" + msg[i+j+len(to):]
}

// keyAtLine returns the longest key path on line, dotted.
func keyAtLine(lines map[string]int, line int) string {
	best := ""
	for k, l := range lines {
		if l == line && len(k) > len(best) {
			best = k
		}
	}
	return strings.ReplaceAll(best, "\x00", ".")
}

// scanHostsFile walks the file's syntax: it returns the mirror URLs in
// the order of the file, and the line of each key path (parts joined by
// NUL). It reports syntax errors and tables defined twice by line.
func scanHostsFile(file string, data []byte) (order []string, lines map[string]int, err error) {
	lines = map[string]int{}
	tables := map[string]bool{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	keyOf := func(it unstable.Iterator) ([]string, int) {
		var parts []string
		line := 0
		for it.Next() {
			n := it.Node()
			if line == 0 {
				line = p.Shape(n.Raw).Start.Line
			}
			parts = append(parts, string(n.Data))
		}
		return parts, line
	}
	note := func(full []string, line int) {
		for i := 1; i <= len(full); i++ {
			k := strings.Join(full[:i], "\x00")
			if _, ok := lines[k]; !ok {
				lines[k] = line
			}
		}
		if len(full) >= 2 && full[0] == "host" && !slices.Contains(order, full[1]) {
			order = append(order, full[1])
		}
	}
	var walk func(prefix []string, kv *unstable.Node)
	walk = func(prefix []string, kv *unstable.Node) {
		key, line := keyOf(kv.Key())
		full := append(slices.Clone(prefix), key...)
		note(full, line)
		if v := kv.Value(); v.Kind == unstable.InlineTable {
			for it := v.Children(); it.Next(); {
				walk(full, it.Node())
			}
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			key, line := keyOf(e.Key())
			table = key
			note(key, line)
			if k := strings.Join(key, "\x00"); e.Kind == unstable.Table {
				if tables[k] {
					return nil, nil, hostsFileError(file, line, "table [%s] defined twice", strings.Join(key, "."))
				}
				tables[k] = true
			}
		case unstable.KeyValue:
			walk(table, e)
		}
	}
	if err := p.Error(); err != nil {
		var pe *unstable.ParserError
		if errors.As(err, &pe) && len(pe.Highlight) > 0 {
			line := p.Shape(p.Range(pe.Highlight)).Start.Line
			return nil, nil, hostsFileError(file, line, "%s", pe.Message)
		}
		return nil, nil, hostsFileError(file, 0, "%v", err)
	}
	return order, lines, nil
}

// hostSpecOf turns one table of the file into an endpoint. server is the
// table's URL, "" for the registry itself; at gives the line of a key.
func hostSpecOf(file, dir, server string, h fileHost, at func(key string) int) (hostSpec, error) {
	var s hostSpec
	if server != "" {
		raw := server
		if !strings.Contains(raw, "://") {
			raw = "//" + raw
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
			(u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
			return s, hostsFileError(file, at("server"), "%q is not an http or https URL of a host", server)
		}
		s.scheme, s.host = u.Scheme, u.Host
		switch p := u.Path; {
		case h.OverridePath && p == "":
			s.path = "/"
		case h.OverridePath:
			s.path = path.Clean(p)
		case p == "" || p == "/":
			s.path = "/v2"
		default:
			s.path = path.Clean(p)
			if !strings.HasSuffix(s.path, "/v2") {
				s.path += "/v2"
			}
		}
	}
	for _, c := range h.Capabilities {
		switch strings.ToLower(c) {
		case "pull":
			s.caps |= docker.HostCapabilityPull
		case "resolve":
			s.caps |= docker.HostCapabilityResolve
		case "push":
			s.caps |= docker.HostCapabilityPush
		default:
			return s, hostsFileError(file, at("capabilities"), "unknown capability %q", c)
		}
	}
	// An empty list is a host for nothing, unlike no list at all.
	s.capsSet = h.Capabilities != nil
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	switch ca := h.CA.(type) {
	case nil:
	case string:
		s.ca = []string{abs(ca)}
	case []any:
		for _, v := range ca {
			p, ok := v.(string)
			if !ok {
				return s, hostsFileError(file, at("ca"), "ca: want a file name or a list of them")
			}
			s.ca = append(s.ca, abs(p))
		}
	default:
		return s, hostsFileError(file, at("ca"), "ca: want a file name or a list of them")
	}
	badClient := func() error {
		return hostsFileError(file, at("client"), `client: want a file, a list of files, or a list of ["cert", "key"] pairs`)
	}
	switch c := h.Client.(type) {
	case nil:
	case string:
		s.clients = [][2]string{{abs(c), ""}}
	case []any:
		for _, v := range c {
			switch v := v.(type) {
			case string:
				s.clients = append(s.clients, [2]string{abs(v), ""})
			case []any:
				if len(v) != 2 {
					return s, badClient()
				}
				cert, ok1 := v[0].(string)
				key, ok2 := v[1].(string)
				if !ok1 || !ok2 {
					return s, badClient()
				}
				s.clients = append(s.clients, [2]string{abs(cert), abs(key)})
			default:
				return s, badClient()
			}
		}
	default:
		return s, badClient()
	}
	s.skipVerify = h.SkipVerify
	if h.Header != nil {
		s.header = http.Header{}
		for k, v := range h.Header {
			switch v := v.(type) {
			case string:
				s.header.Add(k, v)
			case []any:
				for _, e := range v {
					str, ok := e.(string)
					if !ok {
						return s, hostsFileError(file, at("header"), "header %q: want a string or a list of strings", k)
					}
					s.header.Add(k, str)
				}
			default:
				return s, hostsFileError(file, at("header"), "header %q: want a string or a list of strings", k)
			}
		}
	}
	if h.DialTimeout != "" {
		d, err := time.ParseDuration(h.DialTimeout)
		if err != nil || d <= 0 {
			return s, hostsFileError(file, at("dial_timeout"), "dial_timeout %q: want a duration such as \"10s\"", h.DialTimeout)
		}
		s.dial = d
	}
	return s, nil
}

// legacyHostDir reads Docker's layout of a host directory: *.crt CA
// files, *.cert client certificates with their *.key files.
func legacyHostDir(dir string) ([]hostSpec, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("hosts directory %s: %w", dir, osKind(err))
	}
	var s hostSpec
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".crt"):
			s.ca = append(s.ca, filepath.Join(dir, name))
		case strings.HasSuffix(name, ".cert"):
			pair := [2]string{filepath.Join(dir, name), ""}
			key := filepath.Join(dir, strings.TrimSuffix(name, ".cert")+".key")
			if _, err := os.Stat(key); err == nil {
				pair[1] = key
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("hosts directory %s: %w", dir, osKind(err))
			}
			s.clients = append(s.clients, pair)
		}
	}
	return []hostSpec{s}, nil
}

// readBounded reads the file at path, refusing one over max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, osKind(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, osKind(err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes: %w", max, errdefs.ErrInvalidArgument)
	}
	return data, nil
}

// osKind adds an errdefs kind to a file system error.
func osKind(err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: %w", err, errdefs.ErrNotFound)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%w: %w", err, errdefs.ErrPermissionDenied)
	}
	return fmt.Errorf("%w: %w", err, errdefs.ErrUnknown)
}
