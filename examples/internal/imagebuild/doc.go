// Package imagebuild makes the examples' small images: gzip-compressed
// tar layers from lists of files, a base layer holding the host's static
// busybox, and Push, which stores an image of such layers in a client's
// content store and pushes it to a registry.
//
// The images are for examples only: every file belongs to root and dates
// from 1970, and an image has one platform, the host's. It is not an image
// builder for programs (no Dockerfile, no base image, no cache), nor part
// of the library's API: examples/internal is for the examples alone.
package imagebuild
