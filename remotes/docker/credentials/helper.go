package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

// helperPrefix starts the program name of every credential helper.
const helperPrefix = "docker-credential-"

// helperNotFound is what helpers print when they hold nothing for a
// server.
const helperNotFound = "credentials not found"

// helperToken is the username by which a helper marks its secret as an
// identity token.
const helperToken = "<token>"

// maxHelperMessage bounds what of a failing helper's output an error
// quotes.
const maxHelperMessage = 256

// runHelper asks the credential helper name for the credentials of
// server. found is false when the helper holds none.
func runHelper(name, server string, timeout time.Duration) (e entry, found bool, err error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return entry{}, false, fmt.Errorf("credential helper %q: not a helper name: %w", name, errdefs.ErrInvalidArgument)
	}
	prog := helperPrefix + name
	path, err := exec.LookPath(prog)
	if err != nil {
		return entry{}, false, fmt.Errorf("credential helper %s: not installed: %w", prog, errdefs.ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "get")
	cmd.Stdin = strings.NewReader(server)
	stdout := &boundedBuffer{max: MaxHelperOutput}
	stderr := &boundedBuffer{max: maxHelperMessage}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return entry{}, false, fmt.Errorf("credential helper %s: no answer in %v: %w", prog, timeout, context.DeadlineExceeded)
	case stdout.overflow:
		return entry{}, false, fmt.Errorf("credential helper %s: output over %d bytes: %w", prog, MaxHelperOutput, errdefs.ErrUnknown)
	case runErr != nil:
		// A failing helper prints its message on stdout.
		msg := strings.TrimSpace(stdout.String())
		if strings.Contains(strings.ToLower(msg), helperNotFound) {
			return entry{}, false, nil
		}
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			return entry{}, false, fmt.Errorf("credential helper %s: %v: %w", prog, runErr, errdefs.ErrUnknown)
		}
		return entry{}, false, fmt.Errorf("credential helper %s: %s: %q: %w", prog, ee.ProcessState, quoteMessage(msg), errdefs.ErrUnknown)
	}
	var out struct {
		ServerURL string
		Username  string
		Secret    string
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return entry{}, false, fmt.Errorf("credential helper %s: answer is not the JSON of the protocol: %w", prog, errdefs.ErrUnknown)
	}
	if out.Username == helperToken {
		out.Username = ""
	}
	if out.Username == "" && out.Secret == "" {
		return entry{}, false, nil
	}
	return entry{out.Username, out.Secret}, true, nil
}

// quoteMessage shortens a helper's message for an error.
func quoteMessage(s string) string {
	if len(s) > maxHelperMessage {
		s = s[:maxHelperMessage] + "..."
	}
	return s
}

// boundedBuffer keeps the first max bytes written to it and notes that
// there were more, without failing the writer: a helper that is cut off
// might block on a full pipe.
type boundedBuffer struct {
	strings.Builder
	max      int
	overflow bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		b.Builder.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Builder.Write(p)
}

func (b *boundedBuffer) Bytes() []byte { return []byte(b.String()) }
