package testutil

import "os"

func euid() int { return os.Geteuid() }
