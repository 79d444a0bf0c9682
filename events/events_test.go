package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/daemonless/containerd/events"
	"github.com/daemonless/containerd/filters"
)

func TestTopics(t *testing.T) {
	for _, tc := range []struct {
		ev    events.Event
		topic string
	}{
		{&events.ImageCreate{}, "/images/create"},
		{&events.ImageUpdate{}, "/images/update"},
		{&events.ImageDelete{}, "/images/delete"},
		{&events.ContainerCreate{}, "/containers/create"},
		{&events.ContainerUpdate{}, "/containers/update"},
		{&events.ContainerDelete{}, "/containers/delete"},
		{&events.ContentCreate{}, "/content/create"},
		{&events.ContentDelete{}, "/content/delete"},
		{&events.SnapshotPrepare{}, "/snapshot/prepare"},
		{&events.SnapshotCommit{}, "/snapshot/commit"},
		{&events.SnapshotRemove{}, "/snapshot/remove"},
		{&events.TaskCreate{}, "/tasks/create"},
		{&events.TaskStart{}, "/tasks/start"},
		{&events.TaskExit{}, "/tasks/exit"},
		{&events.TaskOOM{}, "/tasks/oom"},
		{&events.TaskDelete{}, "/tasks/delete"},
		{&events.TaskExecAdded{}, "/tasks/exec-added"},
		{&events.TaskExecStarted{}, "/tasks/exec-started"},
		{&events.TaskPaused{}, "/tasks/paused"},
		{&events.TaskResumed{}, "/tasks/resumed"},
		{&events.NamespaceCreate{}, "/namespaces/create"},
		{&events.NamespaceUpdate{}, "/namespaces/update"},
		{&events.NamespaceDelete{}, "/namespaces/delete"},
	} {
		if got := tc.ev.Topic(); got != tc.topic {
			t.Errorf("%T.Topic() = %q, want %q", tc.ev, got, tc.topic)
		}
		if err := events.ValidateTopic(tc.topic); err != nil {
			t.Errorf("ValidateTopic(%q) = %v", tc.topic, err)
		}
	}
}

func TestValidateTopic(t *testing.T) {
	for _, ok := range []string{"/a", "/tasks/exec-added", "/example.com/deploy/done", "/A_1/b-2.c", "/" + strings.Repeat("x", 76)} {
		if err := events.ValidateTopic(ok); err != nil {
			t.Errorf("ValidateTopic(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/", "tasks/exit", "//a", "/a/", "/a//b", "/a b", "/-a", "/a-", "/a--b", "/a/.b", "/é", "/" + strings.Repeat("x", 77), "/a/\x00"} {
		if err := events.ValidateTopic(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("ValidateTopic(%q) = %v, want InvalidArgument", bad, err)
		}
	}
}

// custom is an event of a program's own, without json tags.
type custom struct {
	Deployment string
	Replicas   int
	Hidden     string `json:"-"`
	Inner      struct{ Zone string }
	Ptr        *struct{ Note string }
}

// selfish answers its own field paths.
type selfish struct{}

func (selfish) Field(fieldpath []string) (string, bool) {
	return strings.Join(fieldpath, "+"), true
}

func TestEnvelopeField(t *testing.T) {
	exited := time.Date(2024, 5, 6, 7, 8, 9, 10, time.FixedZone("x", 3600))
	exit := &events.Envelope{Namespace: "k8s.io", Topic: events.TopicTaskExit,
		Event: &events.TaskExit{ContainerID: "redis", ID: "redis", Pid: 42, ExitStatus: 137, ExitedAt: exited}}
	create := &events.Envelope{Namespace: "default", Topic: events.TopicTaskCreate,
		Event: &events.TaskCreate{ContainerID: "web", IO: events.TaskIO{Terminal: true, Stdout: "/x"}}}
	image := &events.Envelope{Namespace: "default", Topic: events.TopicImageUpdate,
		Event: &events.ImageUpdate{Name: "docker.io/library/busybox:1", Labels: map[string]string{"io.example/owner": "ops", "a.b": "c"}}}
	own := &events.Envelope{Namespace: "default", Topic: "/example/deployed",
		Event: custom{Deployment: "api", Replicas: 3, Hidden: "h"}}
	self := &events.Envelope{Namespace: "default", Topic: "/example/self", Event: selfish{}}
	none := &events.Envelope{Namespace: "default", Topic: "/example/none"}
	for _, tc := range []struct {
		filter string
		env    *events.Envelope
		want   bool
	}{
		{"topic==/tasks/exit", exit, true},
		{"topic==/tasks/exit", create, false},
		{"topic~=^/tasks/", create, true},
		{"namespace==k8s.io", exit, true},
		{"namespace==k8s.io", create, false},
		{"topic.x", exit, false},
		{"event", exit, true},
		{"event", none, false},
		{"event.container_id==redis", exit, true},
		{"event.ContainerID==redis", exit, true},
		{"event.containerid==redis", exit, true},
		{"event.exit_status==137", exit, true},
		{"event.pid==42", exit, true},
		{"event.exited_at==2024-05-06T06:08:09.00000001Z", exit, true},
		{"event.exited_at", create, false},
		{"event.nosuch", exit, false},
		{"event.nosuch!=x", exit, true},
		{"event.io.terminal==true", create, true},
		{"event.io.stdout==/x", create, true},
		{"event.io.stdin", create, false},
		{"event.rootfs", create, false},
		{`event.labels."io.example/owner"==ops`, image, true},
		{`event.labels.a.b==c`, image, true},
		{`event.labels`, image, true},
		{`event.labels.nosuch`, image, false},
		{"event.name~=busybox,namespace==default", image, true},
		{"event.deployment==api,event.replicas==3", own, true},
		{"event.hidden", own, false},
		{"event.inner.zone", own, false},
		{"event.inner", own, true},
		{"event.ptr.note", own, false},
		{"event.a.b==a+b", self, true},
	} {
		f, err := filters.Parse(tc.filter)
		if err != nil {
			t.Fatalf("Parse(%q) = %v", tc.filter, err)
		}
		if got := f.Match(tc.env); got != tc.want {
			t.Errorf("Parse(%q).Match(%s %+v) = %v, want %v", tc.filter, tc.env.Topic, tc.env.Event, got, tc.want)
		}
	}
}
