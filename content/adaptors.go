package content

import (
	"fmt"

	"github.com/daemonless/containerd/filters"
)

// InfoAdaptor exposes an Info's fields to filters: digest, size,
// labels.KEY.
func InfoAdaptor(info Info) filters.Adaptor {
	return filters.AdaptorFunc(func(fp []string) (string, bool) {
		if len(fp) == 0 {
			return "", false
		}
		switch fp[0] {
		case "digest":
			return info.Digest.String(), len(fp) == 1
		case "size":
			return fmt.Sprint(info.Size), len(fp) == 1
		case "labels":
			return filters.LabelField(info.Labels, fp[1:])
		}
		return "", false
	})
}

// StatusAdaptor exposes a Status's fields to filters: ref, offset, total,
// expected.
func StatusAdaptor(st Status) filters.Adaptor {
	return filters.AdaptorFunc(func(fp []string) (string, bool) {
		if len(fp) != 1 {
			return "", false
		}
		switch fp[0] {
		case "ref":
			return st.Ref, true
		case "offset":
			return fmt.Sprint(st.Offset), true
		case "total":
			return fmt.Sprint(st.Total), true
		case "expected":
			return st.Expected.String(), st.Expected != ""
		}
		return "", false
	})
}
