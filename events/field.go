package events

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

// fielder is an event that answers filter field paths itself.
type fielder interface {
	Field(fieldpath []string) (string, bool)
}

var timeType = reflect.TypeFor[time.Time]()

// eventField answers fieldpath (below "event") for the event v: through
// its own Field method if it has one, else by its fields.
func eventField(v any, fieldpath []string) (string, bool) {
	if f, ok := v.(fielder); ok {
		return f.Field(fieldpath)
	}
	return valueField(reflect.ValueOf(v), fieldpath)
}

// valueField answers fieldpath for v, following pointers, struct fields
// and maps of strings.
func valueField(v reflect.Value, fieldpath []string) (string, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	if len(fieldpath) == 0 {
		return scalar(v)
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			return "", false
		}
		f, ok := structField(v, fieldpath[0])
		if !ok {
			return "", false
		}
		return valueField(f, fieldpath[1:])
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return "", false
		}
		e := v.MapIndex(reflect.ValueOf(strings.Join(fieldpath, ".")).Convert(v.Type().Key()))
		if !e.IsValid() {
			return "", false
		}
		return scalar(e)
	}
	return "", false
}

// structField finds the exported field of v named name: by its JSON name
// exactly, else by its Go name in any case. A field tagged json:"-" is
// hidden.
func structField(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	var byGoName []int
	for _, sf := range reflect.VisibleFields(t) {
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == name {
			f, err := v.FieldByIndexErr(sf.Index)
			return f, err == nil
		}
		if byGoName == nil && strings.EqualFold(sf.Name, name) {
			byGoName = sf.Index
		}
	}
	if byGoName == nil {
		return reflect.Value{}, false
	}
	f, err := v.FieldByIndexErr(byGoName)
	return f, err == nil
}

// scalar formats a value a filter can compare: a string is present when
// not empty, a time when not zero, numbers and booleans always; a map
// is present when it has entries, as labels are.
func scalar(v reflect.Value) (string, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), v.Len() > 0
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), true
	case reflect.Map, reflect.Slice:
		return "", v.Len() > 0
	case reflect.Struct:
		if v.Type() == timeType {
			if !v.CanInterface() {
				return "", false
			}
			t := v.Interface().(time.Time)
			if t.IsZero() {
				return "", false
			}
			return t.UTC().Format(time.RFC3339Nano), true
		}
		return "", true
	}
	return "", false
}
