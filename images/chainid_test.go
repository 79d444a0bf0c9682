package images_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"

	"github.com/daemonless/containerd/images"
)

// byHand computes a chain ID link from the image-spec's definition,
// without go-digest: SHA-256 of parent, a space, and the diff ID.
func byHand(parent, diffID digest.Digest) digest.Digest {
	sum := sha256.Sum256([]byte(string(parent) + " " + string(diffID)))
	return digest.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

func TestChainID(t *testing.T) {
	a, b, c := digest.FromString("layer a"), digest.FromString("layer b"), digest.FromString("layer c")
	ab := byHand(a, b)
	abc := byHand(ab, c)
	for _, tc := range []struct {
		diffIDs []digest.Digest
		want    []digest.Digest
	}{
		{nil, nil},
		{[]digest.Digest{}, nil},
		{[]digest.Digest{a}, []digest.Digest{a}},
		{[]digest.Digest{a, b}, []digest.Digest{a, ab}},
		{[]digest.Digest{a, b, c}, []digest.Digest{a, ab, abc}},
		{[]digest.Digest{b, a}, []digest.Digest{b, byHand(b, a)}},
	} {
		in := slices.Clone(tc.diffIDs)
		got := images.ChainIDs(in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ChainIDs(%v) = %v, want %v", tc.diffIDs, got, tc.want)
		}
		if !slices.Equal(in, tc.diffIDs) {
			t.Errorf("ChainIDs changed its argument to %v", in)
		}
		var last digest.Digest
		if len(tc.want) > 0 {
			last = tc.want[len(tc.want)-1]
		}
		if got := images.ChainID(tc.diffIDs); got != last {
			t.Errorf("ChainID(%v) = %s, want %s", tc.diffIDs, got, last)
		}
	}
	if ab == byHand(b, a) {
		t.Error("chain IDs do not depend on the order of layers")
	}
}

// TestChainIDKnown checks a value computed outside Go, with
//
//	printf '%s %s' sha256:e3b0…b855 sha256:e3b0…b855 | sha256sum
//
// where sha256:e3b0c442…b855 is the well-known digest of no bytes.
func TestChainIDKnown(t *testing.T) {
	empty := digest.Digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	if got := digest.FromBytes(nil); got != empty {
		t.Fatalf("digest of no bytes = %s", got)
	}
	want := digest.Digest("sha256:de9d9016b852e46e9f3973e20d3a6d17e120f7144931d50cd6e2a8ad53e81960")
	if got := images.ChainID([]digest.Digest{empty, empty}); got != want {
		t.Errorf("ChainID(empty, empty) = %s, want %s", got, want)
	}
}

// TestChainIDImageSpec compares with the image-spec's own implementation.
func TestChainIDImageSpec(t *testing.T) {
	var diffIDs []digest.Digest
	for i := range 20 {
		diffIDs = append(diffIDs, digest.FromString(fmt.Sprint("layer ", i)))
		want := identity.ChainIDs(slices.Clone(diffIDs))
		if got := images.ChainIDs(diffIDs); !slices.Equal(got, want) {
			t.Fatalf("ChainIDs(%d layers) = %v, image-spec says %v", len(diffIDs), got, want)
		}
		if got, want := images.ChainID(diffIDs), identity.ChainID(diffIDs); got != want {
			t.Fatalf("ChainID(%d layers) = %s, image-spec says %s", len(diffIDs), got, want)
		}
	}
}
