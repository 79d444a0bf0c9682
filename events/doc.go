// Package events provides the events a client publishes, as plain Go
// structs, and the [Envelope] that carries one to a subscriber.
//
// It holds types and rules only: publishing and subscribing are the
// client's (Client.Publish and Client.Subscribe in the root package), and
// nothing here does I/O.
//
// # Topics
//
// Every event names a topic, a path such as "/tasks/exit". The topics
// and the shapes of their events are containerd's, so code that watches
// containerd's events reads these the same way:
//
//	/images/create, /images/update, /images/delete
//	/containers/create, /containers/update, /containers/delete
//	/content/create, /content/delete
//	/snapshot/prepare, /snapshot/commit, /snapshot/remove
//	/tasks/create, /tasks/start, /tasks/exit, /tasks/oom, /tasks/delete,
//	/tasks/exec-added, /tasks/exec-started, /tasks/paused, /tasks/resumed
//	/namespaces/create, /namespaces/update, /namespaces/delete
//
// A program may publish events of its own under topics of its own
// choosing; [ValidateTopic] gives the rules a topic follows.
//
// # Payloads
//
// The events of this package are published as pointers: a subscriber
// switches on *events.TaskExit, not events.TaskExit. Their Topic methods
// have pointer receivers, so only the pointers satisfy [Event]. An
// envelope and its event are shared by every subscriber that receives
// them and must not be modified.
//
// # Filtering
//
// An [Envelope] answers the field paths of package filters' syntax
// through its Field method:
//
//	topic==/tasks/exit
//	namespace==k8s.io
//	topic~=^/images/,event.name~=busybox
//	event.container_id==redis
//	event.labels."io.example/owner"==ops
//
// Below "event", a path names the event's fields by their JSON names
// (the json tag, as in container_id, exit_status) or by their Go names in
// any case (ContainerID, containerid); a map of strings is indexed by the
// rest of the path, joined with dots, as labels are; a struct field is
// followed into. A string field is present when it is not empty, a time
// when it is not zero, a map or slice named alone when it has entries,
// and a number or boolean always; numbers are compared in decimal, times
// in RFC 3339 with nanoseconds, in UTC. An
// event of a program's own may answer for itself by having a method
// Field(fieldpath []string) (string, bool).
package events
