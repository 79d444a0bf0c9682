package credentials

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
)

// configFile is what a docker config.json or containers auth.json says.
type configFile struct {
	path string
	// auths are the usable entries, by host key.
	auths map[string]entry
	// keys are the keys of the auths entries as the file spells them, by
	// host key: the server URL a helper is asked about.
	keys map[string]string
	// helpers are the credHelpers, by host key; store is credsStore.
	helpers map[string]string
	store   string
}

// fileJSON is the part of the files that holds credentials.
type fileJSON struct {
	Auths       map[string]authJSON `json:"auths"`
	CredHelpers map[string]string   `json:"credHelpers"`
	CredsStore  string              `json:"credsStore"`
}

type authJSON struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// readConfigFile reads and decodes the file at path. A missing file is an
// error that wraps fs.ErrNotExist and errdefs.ErrNotFound.
func readConfigFile(path string) (*configFile, error) {
	data, err := readBounded(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	var raw fileJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("credentials file %s: %s: %w", path, jsonErrorAt(data, err), errdefs.ErrInvalidArgument)
	}
	f := &configFile{
		path:    path,
		auths:   map[string]entry{},
		keys:    map[string]string{},
		helpers: map[string]string{},
		store:   raw.CredsStore,
	}
	// An entry with credentials beats a placeholder.
	for _, k := range orderedKeys(raw.Auths) {
		key, ok := hostKey(k)
		if !ok || key == "" {
			continue
		}
		e, usable, err := raw.Auths[k].entry()
		if err != nil {
			return nil, fmt.Errorf("credentials file %s: auths %q: %v: %w", path, k, err, errdefs.ErrInvalidArgument)
		}
		if _, seen := f.keys[key]; !seen {
			f.keys[key] = k
		}
		if _, seen := f.auths[key]; !seen && usable {
			f.auths[key] = e
		}
	}
	for _, k := range orderedKeys(raw.CredHelpers) {
		key, ok := hostKey(k)
		if _, seen := f.helpers[key]; ok && key != "" && !seen && raw.CredHelpers[k] != "" {
			f.helpers[key] = raw.CredHelpers[k]
		}
	}
	return f, nil
}

// cmpBool orders true before false.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// entry returns the credentials of an auths entry, and whether it has
// any: an entry may be an empty placeholder for a helper's.
func (a authJSON) entry() (entry, bool, error) {
	switch {
	case a.IdentityToken != "":
		return entry{"", a.IdentityToken}, true, nil
	case a.Auth != "":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a.Auth))
		if err != nil {
			if raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(a.Auth), "=")); err != nil {
				return entry{}, false, errors.New(`"auth" is not base64`)
			}
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" {
			return entry{}, false, errors.New(`"auth" is not base64 of "user:password"`)
		}
		return entry{user, pass}, true, nil
	case a.Username != "":
		return entry{a.Username, a.Password}, true, nil
	}
	return entry{}, false, nil
}

// readBounded reads the regular file at path, refusing one over max
// bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("credentials file %s: %w: %w", path, os.ErrNotExist, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("credentials file %s: not a regular file: %w", path, errdefs.ErrInvalidArgument)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("credentials file %s: larger than %d bytes: %w", path, max, errdefs.ErrInvalidArgument)
	}
	return data, nil
}

// jsonErrorAt describes a decoding error by line and column, without
// quoting the file.
func jsonErrorAt(data []byte, err error) string {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		off int64 = -1
		msg       = "malformed JSON"
	)
	switch {
	case errors.As(err, &syn):
		off, msg = syn.Offset, "malformed JSON: "+syn.Error()
	case errors.As(err, &typ):
		off, msg = typ.Offset, fmt.Sprintf("%s: want a JSON %s, found %s", typ.Field, typ.Type, typ.Value)
	}
	if off < 0 || off > int64(len(data)) {
		return msg
	}
	lead := data[:off]
	line := bytes.Count(lead, []byte{'\n'}) + 1
	col := len(lead) - bytes.LastIndexByte(lead, '\n')
	return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
}

// orderedKeys returns the keys of m in the order they are taken: of
// several spellings of one host the canonical one first, then sorted
// order, so that the choice never depends on map order.
func orderedKeys[V any](m map[string]V) []string {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int {
		ka, _ := hostKey(a)
		kb, _ := hostKey(b)
		return cmpBool(a == serverURL(ka), b == serverURL(kb))
	})
	return keys
}
