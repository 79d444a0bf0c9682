package filters_test

import (
	"fmt"

	"github.com/daemonless/containerd/filters"
)

type image struct {
	Name   string
	Labels map[string]string
}

// adapt exposes an image's name and labels to a filter.
func adapt(img image) filters.Adaptor {
	return filters.AdaptorFunc(func(path []string) (string, bool) {
		switch {
		case len(path) == 1 && path[0] == "name":
			return img.Name, true
		case len(path) == 2 && path[0] == "labels":
			v, ok := img.Labels[path[1]]
			return v, ok
		}
		return "", false
	})
}

func Example() {
	images := []image{
		{Name: "docker.io/library/busybox:latest", Labels: map[string]string{"io.containerd/gc.root": "true"}},
		{Name: "docker.io/library/alpine:3.20", Labels: map[string]string{"env": "prod"}},
		{Name: "ghcr.io/example/app:v1", Labels: map[string]string{"env": "dev"}},
	}

	// Images under docker.io/library that are not labelled env=dev,
	// or any image that is a GC root.
	f, err := filters.Parse(
		`name~=^docker\.io/library/,labels.env!=dev`,
		`labels."io.containerd/gc.root"==true`,
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, img := range images {
		if f.Match(adapt(img)) {
			fmt.Println(img.Name)
		}
	}

	_, err = filters.Parse("labels.==x")
	fmt.Println(err)

	// Output:
	// docker.io/library/busybox:latest
	// docker.io/library/alpine:3.20
	// filter "labels.==x": position 7: expected field name: invalid argument
}
