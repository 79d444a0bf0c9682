package images

import "github.com/opencontainers/go-digest"

// ChainID returns the chain ID of a stack of layers given by their diff
// IDs, bottom first, as the OCI image-spec defines it: the chain ID of one
// layer is its diff ID, and that of layers 0 to n is the SHA-256 digest of
// the chain ID of layers 0 to n-1, a space, and the diff ID of layer n.
// The chain ID names the filesystem the layers make together; no layers
// have the chain ID "".
func ChainID(diffIDs []digest.Digest) digest.Digest {
	if len(diffIDs) == 0 {
		return ""
	}
	id := diffIDs[0]
	for _, d := range diffIDs[1:] {
		id = next(id, d)
	}
	return id
}

// ChainIDs returns the chain ID of each prefix of diffIDs: element i is
// ChainID(diffIDs[:i+1]). diffIDs is not modified.
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	if len(diffIDs) == 0 {
		return nil
	}
	ids := make([]digest.Digest, len(diffIDs))
	ids[0] = diffIDs[0]
	for i := 1; i < len(diffIDs); i++ {
		ids[i] = next(ids[i-1], diffIDs[i])
	}
	return ids
}

// next is the chain ID of the layers of chain ID parent with the layer of
// diff ID diffID on top.
func next(parent, diffID digest.Digest) digest.Digest {
	return digest.SHA256.FromString(parent.String() + " " + diffID.String())
}
