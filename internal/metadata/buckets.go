package metadata

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketContent = []byte("content")
	bucketBlob    = []byte("blob")
	bucketLabels  = []byte("labels")
	keySize       = []byte("size")
	keyCreatedAt  = []byte("createdat")
	keyUpdatedAt  = []byte("updatedat")
)

// bucket walks down a path of nested buckets, returning nil when one is
// missing.
func bucket(tx *bolt.Tx, path ...[]byte) *bolt.Bucket {
	b := tx.Bucket(path[0])
	for _, p := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket(p)
	}
	return b
}

// createBucket walks down a path of nested buckets, creating them.
func createBucket(tx *bolt.Tx, path ...[]byte) (*bolt.Bucket, error) {
	b, err := tx.CreateBucketIfNotExists(path[0])
	if err != nil {
		return nil, err
	}
	for _, p := range path[1:] {
		if b, err = b.CreateBucketIfNotExists(p); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// namespaceNames lists the namespaces that have a bucket.
func namespaceNames(tx *bolt.Tx) []string {
	var out []string
	if v1 := tx.Bucket(bucketV1); v1 != nil {
		v1.ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	}
	return out
}

func putTime(b *bolt.Bucket, k []byte, t time.Time) error {
	v, err := t.UTC().MarshalBinary()
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

func getTime(b *bolt.Bucket, k []byte) time.Time {
	var t time.Time
	if v := b.Get(k); v != nil {
		t.UnmarshalBinary(v)
	}
	return t
}

func putInt(b *bolt.Bucket, k []byte, n int64) error {
	return b.Put(k, binary.AppendVarint(nil, n))
}

func getInt(b *bolt.Bucket, k []byte) int64 {
	n, _ := binary.Varint(b.Get(k))
	return n
}

func readLabels(b *bolt.Bucket) map[string]string {
	lb := b.Bucket(bucketLabels)
	if lb == nil {
		return nil
	}
	out := map[string]string{}
	lb.ForEach(func(k, v []byte) error {
		out[string(k)] = string(v)
		return nil
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// writeLabels replaces the labels of b.
func writeLabels(b *bolt.Bucket, labels map[string]string) error {
	if b.Bucket(bucketLabels) != nil {
		if err := b.DeleteBucket(bucketLabels); err != nil {
			return err
		}
	}
	if len(labels) == 0 {
		return nil
	}
	lb, err := b.CreateBucket(bucketLabels)
	if err != nil {
		return err
	}
	for k, v := range labels {
		if err := lb.Put([]byte(k), []byte(v)); err != nil {
			return err
		}
	}
	return nil
}
