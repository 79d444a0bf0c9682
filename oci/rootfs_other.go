//go:build !linux

package oci

import (
	"os"
	"path/filepath"
	"strings"
)

// openInRoot opens the regular file name below root for reading. Off Linux
// it uses os.Root, which refuses symbolic links leading out of root rather
// than following them inside it.
func openInRoot(root, name string) (*os.File, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rel := strings.TrimLeft(filepath.Clean("/"+name), "/")
	st, err := r.Stat(rel)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(st.Mode())
	}
	return r.Open(rel)
}
