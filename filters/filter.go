package filters

import "regexp"

// Adaptor gives a filter access to an object's fields.
//
// Field reports the value found at fieldpath and whether the field is
// present at all. The fieldpath slice belongs to the filter: an adaptor may
// read it but must not modify or retain it.
type Adaptor interface {
	Field(fieldpath []string) (value string, present bool)
}

// AdaptorFunc is a function that serves as an [Adaptor].
type AdaptorFunc func(fieldpath []string) (string, bool)

// Field calls f(fieldpath).
func (f AdaptorFunc) Field(fieldpath []string) (string, bool) {
	return f(fieldpath)
}

// Filter decides whether an object, seen through an [Adaptor], is selected.
//
// Filters returned by [Parse] are immutable and safe for concurrent use.
type Filter interface {
	Match(Adaptor) bool
}

// FilterFunc is a function that serves as a [Filter].
type FilterFunc func(Adaptor) bool

// Match calls f(a).
func (f FilterFunc) Match(a Adaptor) bool {
	return f(a)
}

// Always is a [Filter] that matches every object without consulting the
// adaptor. [Parse] returns it when called with no filter strings.
var Always Filter = FilterFunc(func(Adaptor) bool { return true })

// op is the comparison performed by a selector.
type op int

const (
	opPresent  op = iota // fieldpath alone
	opEqual              // ==
	opNotEqual           // !=
	opMatch              // ~=
)

// selector is one comparison against one field path.
type selector struct {
	path  []string
	op    op
	value string
	re    *regexp.Regexp // set for opMatch only
}

// Match applies the selector's comparison to the field it names.
func (s *selector) Match(a Adaptor) bool {
	// The three-index slice keeps an adaptor that appends to the path
	// from writing into storage shared by concurrent matches.
	value, present := a.Field(s.path[:len(s.path):len(s.path)])
	switch s.op {
	case opPresent:
		return present
	case opEqual:
		return present && value == s.value
	case opNotEqual:
		return !present || value != s.value
	case opMatch:
		return present && s.re.MatchString(value)
	}
	return false
}

// allOf matches when every selector matches (the comma-separated
// selectors of one filter string).
type allOf []*selector

func (ss allOf) Match(a Adaptor) bool {
	for _, s := range ss {
		if !s.Match(a) {
			return false
		}
	}
	return true
}

// anyOf matches when at least one filter matches (the filter strings
// passed together to Parse).
type anyOf []Filter

func (fs anyOf) Match(a Adaptor) bool {
	for _, f := range fs {
		if f.Match(a) {
			return true
		}
	}
	return false
}

// LabelField is what an adaptor answers for a fieldpath below "labels"
// (rest is the fieldpath after it): with no rest, whether there are any
// labels; else the label named by rest joined with dots.
func LabelField(labels map[string]string, rest []string) (string, bool) {
	if len(rest) == 0 {
		return "", len(labels) > 0
	}
	key := rest[0]
	for _, r := range rest[1:] {
		key += "." + r
	}
	v, ok := labels[key]
	return v, ok
}
