package filters_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/filters"
)

// sep joins field path components into the keys of object; it cannot
// appear in a valid filter, so labels."a.b" and labels.a.b stay distinct.
const sep = "\x00"

// object is a test subject: its fields are keyed by the joined field path.
type object struct {
	id     string
	fields map[string]string
}

func (o object) Field(path []string) (string, bool) {
	v, ok := o.fields[strings.Join(path, sep)]
	return v, ok
}

var corpus = []object{
	{"a", map[string]string{
		"name":                                   "foo",
		"labels" + sep + "env":                   "prod",
		"labels" + sep + "io.containerd/gc.root": "yes",
	}},
	{"b", map[string]string{
		"name":                 "bar",
		"labels" + sep + "env": "dev",
	}},
	{"c", map[string]string{
		"name":  "foobar",
		"other": "too complex, yo",
		"image": "docker.io/library/busybox:1.36-glibc=x*",
	}},
	{"d", map[string]string{
		"name":                             "baz",
		"labels" + sep + "env":             "",
		"labels" + sep + "key with spaces": "x",
	}},
	{"e", map[string]string{
		"topic": "/tasks/exit",
	}},
}

func matching(f filters.Filter) []string {
	ids := []string{}
	for _, o := range corpus {
		if f.Match(o) {
			ids = append(ids, o.id)
		}
	}
	return ids
}

func TestParseMatch(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e"}
	for _, tc := range []struct {
		name    string
		filters []string
		want    []string
	}{
		{"NoFiltersMatchesAll", nil, all},
		{"Present", []string{"name"}, []string{"a", "b", "c", "d"}},
		{"PresentWithEmptyValue", []string{"labels.env"}, []string{"a", "b", "d"}},
		{"PresentAbsent", []string{"nosuch"}, []string{}},
		{"Equal", []string{"name==foo"}, []string{"a"}},
		{"EqualNoMatch", []string{"name==qux"}, []string{}},
		{"NotEqual", []string{"name!=foo"}, []string{"b", "c", "d", "e"}},
		{"NotEqualMissingFieldMatches", []string{"labels.env!=prod"}, []string{"b", "c", "d", "e"}},
		{"NotEqualEmpty", []string{`labels.env!=""`}, []string{"a", "b", "c", "e"}},
		{"EqualEmpty", []string{`labels.env==""`}, []string{"d"}},
		{"RegexpUnanchored", []string{"name~=foo"}, []string{"a", "c"}},
		{"RegexpAnchored", []string{"name~=^foo$"}, []string{"a"}},
		{"RegexpMissingFieldNeverMatches", []string{"name~=.*"}, []string{"a", "b", "c", "d"}},
		{"RegexpEmptyQuoted", []string{`labels.env~=""`}, []string{"a", "b", "d"}},
		{"QuotedComponentDotsSlashes", []string{`labels."io.containerd/gc.root"`}, []string{"a"}},
		{"QuotedComponentEqual", []string{`labels."io.containerd/gc.root"==yes`}, []string{"a"}},
		{"QuotedComponentSpaces", []string{`labels."key with spaces"==x`}, []string{"d"}},
		{"QuotedFirstComponent", []string{`"name"==foo`}, []string{"a"}},
		{"QuotedComponentEscapes", []string{`labels."io.containerd\x2fgc.root"`}, []string{"a"}},
		{"QuotedValueWithComma", []string{`other=="too complex, yo"`}, []string{"c"}},
		{"QuotedValueEscapes", []string{`name=="f\x6f\u006f"`}, []string{"a"}},
		{"BareValuePunctuation", []string{"image==docker.io/library/busybox:1.36-glibc=x*"}, []string{"c"}},
		{"BareValueLeadingSlash", []string{"topic==/tasks/exit"}, []string{"e"}},
		{"BareValueLeadingPipe", []string{"name==|foo|"}, []string{}},
		{"SlashQuotedRegexp", []string{`name~=/^(foo|bar)$/`}, []string{"a", "b"}},
		{"SlashQuotedRegexpComma", []string{`name~=/^[a-z]{3,3}$/`}, []string{"a", "b", "d"}},
		{"SlashQuotedRegexpWithComma", []string{`other~=/complex, yo$/`}, []string{"c"}},
		{"SlashQuotedEscapedSlash", []string{`topic~=/^\/tasks\//`}, []string{"e"}},
		{"SlashQuotedDoubledBackslash", []string{`name~=/^\\w{3}$/`}, []string{"a", "b", "d"}},
		{"SlashQuotedThenSelector", []string{`topic~=/exit/ , topic`}, []string{"e"}},
		{"PipeQuotedRegexp", []string{`topic~=|^/tasks/.*|`}, []string{"e"}},
		{"PipeQuotedEscapedPipe", []string{`name~=|^(foo\|baz)$|`}, []string{"a", "d"}},
		{"RegexpBareLeadingSlash", []string{"topic~=/tasks/.*"}, []string{"e"}},
		{"RegexpBareUnterminatedSlash", []string{"topic~=/tasks"}, []string{"e"}},
		{"RegexpDoubleQuoted", []string{`other~="x, y|complex, yo"`}, []string{"c"}},
		{"And", []string{"name~=foo,labels.env==prod"}, []string{"a"}},
		{"AndPresence", []string{"name,labels.env"}, []string{"a", "b", "d"}},
		{"AndNoMatch", []string{"name==foo,labels.env==dev"}, []string{}},
		{"Or", []string{"name==bar", "labels.env==prod"}, []string{"a", "b"}},
		{"OrOfAnds", []string{"name==bar,labels.env==dev", "topic"}, []string{"b", "e"}},
		{"Whitespace", []string{"  name == foo  ,\tlabels . env  "}, []string{"a"}},
		{"WhitespaceQuoted", []string{` labels . "io.containerd/gc.root" == "yes" `}, []string{"a"}},
		{"Unicode", []string{"name~=^b.z$,name!=ünïcode"}, []string{"d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := filters.Parse(tc.filters...)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.filters, err)
			}
			if got := matching(f); !slices.Equal(got, tc.want) {
				t.Errorf("Parse(%q) matched %q, want %q", tc.filters, got, tc.want)
			}
		})
	}
}

func TestParseFieldPath(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"name", []string{"name"}},
		{"a.b_2.C", []string{"a", "b_2", "C"}},
		{`labels."io.containerd/foo"`, []string{"labels", "io.containerd/foo"}},
		{`labels."a.b".c`, []string{"labels", "a.b", "c"}},
		{`labels."say \"hi\"\\"==x`, []string{"labels", `say "hi"\`}},
		{`labels.""`, []string{"labels", ""}},
	} {
		f, err := filters.Parse(tc.filter)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.filter, err)
		}
		var got []string
		f.Match(filters.AdaptorFunc(func(path []string) (string, bool) {
			got = slices.Clone(path)
			return "", false
		}))
		if !slices.Equal(got, tc.want) {
			t.Errorf("Parse(%q): adaptor got path %q, want %q", tc.filter, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		filters []string
		want    string // substring of the error message
	}{
		{"Empty", []string{""}, `filter "": position 0: empty filter`},
		{"Blank", []string{"  \t"}, "empty filter"},
		{"EmptyAmongOthers", []string{"name", ""}, "empty filter"},
		{"TrailingComma", []string{"name==foo,"}, "position 9: trailing comma"},
		{"TrailingCommaSpace", []string{"name , "}, "position 5: trailing comma"},
		{"LeadingComma", []string{",name"}, "position 0: expected field name"},
		{"DoubleComma", []string{"a,,b"}, "position 2: empty selector between commas"},
		{"OperatorWithoutField", []string{"==x"}, "position 0: expected field name"},
		{"OperatorAfterDot", []string{"labels.==x"}, `filter "labels.==x": position 7: expected field name: invalid argument`},
		{"TrailingDot", []string{"labels."}, "position 7: expected field name"},
		{"DigitComponent", []string{"labels.1x"}, "position 7: expected field name"},
		{"UnquotedSlashInField", []string{"labels.io.containerd/foo==x"}, `position 20: unexpected '/' after field path`},
		{"SlashQuotedField", []string{"labels./foo/"}, "position 7: expected field name"},
		{"UnterminatedFieldQuote", []string{`labels."foo==bar`}, "position 7: unterminated quoted string"},
		{"UnterminatedValueQuote", []string{`name=="foo`}, "position 6: unterminated quoted string"},
		{"NewlineInQuote", []string{"name==\"a\nb\""}, "unterminated quoted string"},
		{"BadEscapeField", []string{`labels."\g"`}, `position 8: invalid escape sequence "\\g"`},
		{"BadEscapeSlashQuoted", []string{`name~=/\d+/`}, `position 7: invalid escape sequence "\\d"`},
		{"EscapedQuoteInSlashQuoted", []string{`name~=/\"/`}, `invalid escape sequence`},
		{"BadRegexp", []string{"name~=["}, "position 6: invalid regexp: error parsing regexp: missing closing ]"},
		{"BadRegexpSlashQuoted", []string{"name~=/a(/"}, "position 6: invalid regexp"},
		{"UnknownOperatorEq", []string{"name=foo"}, `position 4: unknown operator "="`},
		{"UnknownOperatorGt", []string{"name>foo"}, `unknown operator ">"`},
		{"UnknownOperatorGe", []string{"name >= foo"}, `position 5: unknown operator ">="`},
		{"UnknownOperatorTripleEq", []string{"name===foo"}, `unknown operator "==="`},
		{"UnknownOperatorPerl", []string{"name=~foo"}, `unknown operator "=~"`},
		{"MissingValue", []string{"name=="}, "position 6: expected value, found end of filter"},
		{"MissingValueComma", []string{"name==,x"}, "position 6: expected value, found ','"},
		{"SpaceInBareValue", []string{"name==foo bar"}, "position 10: unexpected 'b' after value"},
		{"JunkAfterQuotedValue", []string{`name=="foo"bar`}, "position 11: unexpected 'b' after value"},
		{"ControlCharInValue", []string{"name==a\x01b"}, "position 7: control character"},
		{"NulAfterField", []string{"name\x00"}, "position 4: unexpected"},
		{"InvalidUTF8", []string{"name==a\xffb"}, "position 7: invalid UTF-8"},
		{"Oversize", []string{"name==" + strings.Repeat("a", 4091)}, "(4097 bytes): longer than the limit of 4096 bytes"},
		{"OversizeRegexp", []string{"name~=" + strings.Repeat("a", 1025)}, "position 6: regexp of 1025 bytes is longer than the limit of 1024 bytes"},
		{"RegexpTooComplex", []string{"name~=" + strings.Repeat("(a{1000})", 5)}, "position 6: regexp too complex: compiles to"},
		{"RegexpTooComplexQuoted", []string{`name~=/[\\x{0}-\\x{10FFFF}]{1000}b{1000}c{1000}d{1000}e{1000}/`}, "regexp too complex"},
		{"SecondFilterBad", []string{"name", "name="}, `filter "name="`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := filters.Parse(tc.filters...)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error containing %q", tc.filters, tc.want)
			}
			if f != nil {
				t.Errorf("Parse(%q) returned a filter along with error %v", tc.filters, err)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("Parse(%q) error %v does not wrap errdefs.ErrInvalidArgument", tc.filters, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) error:\n got  %v\n want it to contain %q", tc.filters, err, tc.want)
			}
		})
	}
}

func TestParseLimitsInclusive(t *testing.T) {
	if _, err := filters.Parse("name==" + strings.Repeat("a", 4090)); err != nil {
		t.Errorf("4096-byte filter: %v", err)
	}
	if _, err := filters.Parse("name~=" + strings.Repeat("a", 1024)); err != nil {
		t.Errorf("1024-byte regexp: %v", err)
	}
	if _, err := filters.Parse("name~=^[0-9a-f]{64}$,name~=/.{1,1000}/"); err != nil {
		t.Errorf("moderate counted repetition: %v", err)
	}
	// The regexp limit applies to the unquoted text.
	if _, err := filters.Parse("name~=/" + strings.Repeat("a", 1024) + "/"); err != nil {
		t.Errorf("1024-byte quoted regexp: %v", err)
	}
}

func TestAlways(t *testing.T) {
	called := false
	a := filters.AdaptorFunc(func([]string) (string, bool) { called = true; return "", false })
	if !filters.Always.Match(a) {
		t.Error("Always did not match")
	}
	if called {
		t.Error("Always consulted the adaptor")
	}
}

func TestFilterFunc(t *testing.T) {
	var f filters.Filter = filters.FilterFunc(func(a filters.Adaptor) bool {
		v, ok := a.Field([]string{"x"})
		return ok && v == "y"
	})
	if !f.Match(filters.AdaptorFunc(func(p []string) (string, bool) { return "y", true })) {
		t.Error("FilterFunc did not delegate")
	}
}

func TestConcurrentMatch(t *testing.T) {
	f, err := filters.Parse(`name~=^foo,labels.env!=dev`, `topic==/tasks/exit`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if got := matching(f); !slices.Equal(got, []string{"a", "c", "e"}) {
					t.Errorf("matched %q", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name", "name==foo", "name!=foo", "name~=^f.o$", `labels."io.containerd/foo"==bar`,
		`other=="a, b"`, `x~=/a\/b/,y`, `x~=|a\|b|`, "topic~=/tasks/.*", " a . b == c , d ",
		"", ",", "a,,b", "labels.==x", `a=="\x`, "a~=[", "a=b", "a>b", "a==b c", `"`, `a."\u00e9"`,
	} {
		f.Add(s)
	}
	probes := []filters.Adaptor{
		filters.AdaptorFunc(func([]string) (string, bool) { return "", false }),
		filters.AdaptorFunc(func([]string) (string, bool) { return "", true }),
		filters.AdaptorFunc(func(p []string) (string, bool) { return strings.Join(p, "."), true }),
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := filters.Parse(s)
		if err != nil {
			if flt != nil {
				t.Fatalf("Parse(%q) returned both a filter and %v", s, err)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalidArgument", s, err)
			}
			return
		}
		if flt == nil {
			t.Fatalf("Parse(%q) returned neither filter nor error", s)
		}
		for _, a := range probes {
			flt.Match(a)
		}
	})
}
