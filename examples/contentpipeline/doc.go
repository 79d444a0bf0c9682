// Command contentpipeline stores a small OCI image's blobs — a layer, its
// config and the manifest naming both — in a content store, as a pull
// would, then walks the store and reads the manifest back.
//
// It runs offline in a fresh temporary root, or in the root named by
// -root:
//
//	go run ./examples/contentpipeline
package main
