package containerd

import (
	"context"
	"testing"

	"github.com/daemonless/containerd/events"
)

// BenchmarkPublish measures what Publish costs its caller with the
// events journal on (the default) and off. The journal's writer works
// beside, on its own goroutine; the timer stops while it catches up,
// every 1000 events (its queue holds 4096).
func BenchmarkPublish(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []ClientOpt
	}{{"journal", nil}, {"nojournal", []ClientOpt{WithoutEventJournal}}} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := New(b.TempDir(), tc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			ev := &events.ContainerCreate{ID: "redis", Image: "docker.io/library/redis:7"}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				c.Publish(ctx, events.TopicContainerCreate, ev)
				if i%1000 == 999 && c.journal != nil {
					b.StopTimer()
					c.journal.w.Flush(ctx)
					b.StartTimer()
				}
			}
		})
	}
}
