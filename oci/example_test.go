package oci_test

import (
	"context"
	"fmt"
	"log"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/daemonless/containerd/containers"
	"github.com/daemonless/containerd/oci"
)

func ExampleGenerateSpec() {
	ctx := context.Background()
	c := &containers.Container{ID: "web"}
	s, err := oci.GenerateSpec(ctx, nil, c,
		oci.WithProcessArgs("/bin/httpd", "-f"),
		oci.WithHostname("web"),
		oci.WithUIDGID(1000, 1000),
		oci.WithMemoryLimit(256<<20),
		oci.WithHostNamespace(specs.NetworkNamespace),
		oci.WithDroppedCapabilities([]string{"NET_RAW"}),
		oci.WithDefaultSeccompProfile,
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("args:", s.Process.Args)
	fmt.Println("user:", s.Process.User.UID, s.Process.User.GID)
	fmt.Println("memory limit:", *s.Linux.Resources.Memory.Limit)
	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	fmt.Println("namespaces:", ns)
	fmt.Println("capabilities:", len(s.Process.Capabilities.Bounding))
	fmt.Println("seccomp:", s.Linux.Seccomp.DefaultAction)
	// Output:
	// args: [/bin/httpd -f]
	// user: 1000 1000
	// memory limit: 268435456
	// namespaces: [pid ipc uts mount]
	// capabilities: 13
	// seccomp: SCMP_ACT_ERRNO
}

// configImage is an image known by its configuration only.
type configImage ocispec.ImageConfig

func (i configImage) Config(context.Context) (ocispec.Image, error) {
	return ocispec.Image{Config: ocispec.ImageConfig(i)}, nil
}

func ExampleWithImageConfig() {
	img := configImage{
		Entrypoint: []string{"redis-server"},
		Cmd:        []string{"--save", ""},
		Env:        []string{"REDIS_VERSION=7.2"},
		WorkingDir: "/data",
		StopSignal: "SIGTERM",
	}
	s, err := oci.GenerateSpec(context.Background(), nil, &containers.Container{ID: "redis"},
		oci.WithImageConfig(img),
		oci.WithEnv([]string{"REDIS_ARGS=--appendonly yes"}),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", s.Process.Args)
	fmt.Println(s.Process.Env)
	fmt.Println(s.Process.Cwd, s.Annotations[oci.AnnotationStopSignal])
	// Output:
	// ["redis-server" "--save" ""]
	// [PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin REDIS_VERSION=7.2 REDIS_ARGS=--appendonly yes]
	// /data SIGTERM
}
