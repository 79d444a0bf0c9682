package testharness_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"

	containerd "github.com/daemonless/containerd"
)

// TestEcho runs echo in a container and checks its output and exit code.
func TestEcho(t *testing.T) {
	c := startContainer(t, "echo", "hello from a container")
	if code := c.Wait(t); code != 0 {
		t.Errorf("exit code %d, want 0; output:\n%s", code, c.Output())
	}
	if got, want := c.Output(), "hello from a container\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestExitCode checks that a command's exit code and its stderr come
// through.
func TestExitCode(t *testing.T) {
	c := startContainer(t, "sh", "-c", "echo something failed >&2; exit 3")
	if code := c.Wait(t); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if got, want := c.Output(), "something failed\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestStop stops a long-running container with SIGTERM once it is ready,
// as a service would be stopped, and checks that its handler ran.
func TestStop(t *testing.T) {
	c := startContainer(t, "sh", "-c", `trap 'echo stopping; exit 0' TERM; echo ready; sleep 3600 & wait`)
	// The shell is the container's pid 1, which gets only the signals it
	// handles: wait until its trap is set.
	c.WaitOutput(t, "ready\n")
	st, err := c.Task.Status(context.Background())
	if err != nil || st.Status != containerd.Running {
		t.Fatalf("Status = %+v, %v; want running", st, err)
	}
	if err := c.Task.Kill(context.Background(), syscall.SIGTERM); err != nil {
		t.Fatalf("Kill(SIGTERM) = %v", err)
	}
	if code := c.Wait(t); code != 0 {
		t.Errorf("exit code %d, want 0 (from the trap)", code)
	}
	if got, want := c.Output(), "ready\nstopping\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestParallel runs containers from parallel subtests; each gets its own
// output.
func TestParallel(t *testing.T) {
	for n := range 4 {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			c := startContainer(t, "echo", "container", fmt.Sprint(n))
			if code := c.Wait(t); code != 0 {
				t.Errorf("exit code %d, want 0; output:\n%s", code, c.Output())
			}
			if got, want := c.Output(), fmt.Sprintf("container %d\n", n); got != want {
				t.Errorf("output %q, want %q", got, want)
			}
		})
	}
}

// TestCleanup leaves a container running at the end of a subtest and
// checks that the harness's cleanups killed it and deleted it.
func TestCleanup(t *testing.T) {
	var (
		id  string
		pid int
	)
	t.Run("forgets", func(t *testing.T) {
		c := startContainer(t, "sleep", "3600")
		id, pid = c.ID, int(c.Task.Pid())
	})
	if id == "" {
		t.Skip("the subtest ran no container")
	}
	client, _ := testImage(t)
	if _, err := client.LoadContainer(context.Background(), id); !errdefs.IsNotFound(err) {
		t.Errorf("LoadContainer(%s) = %v after the subtest; want NotFound", id, err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v after the subtest; want ESRCH, the process gone", pid, err)
	}
}
