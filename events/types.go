package events

import (
	"time"

	"github.com/opencontainers/go-digest"
)

// The topics of the events of this package.
const (
	TopicImageCreate = "/images/create"
	TopicImageUpdate = "/images/update"
	TopicImageDelete = "/images/delete"

	TopicContainerCreate = "/containers/create"
	TopicContainerUpdate = "/containers/update"
	TopicContainerDelete = "/containers/delete"

	TopicContentCreate = "/content/create"
	TopicContentDelete = "/content/delete"

	TopicSnapshotPrepare = "/snapshot/prepare"
	TopicSnapshotCommit  = "/snapshot/commit"
	TopicSnapshotRemove  = "/snapshot/remove"

	TopicTaskCreate      = "/tasks/create"
	TopicTaskStart       = "/tasks/start"
	TopicTaskExit        = "/tasks/exit"
	TopicTaskOOM         = "/tasks/oom"
	TopicTaskDelete      = "/tasks/delete"
	TopicTaskExecAdded   = "/tasks/exec-added"
	TopicTaskExecStarted = "/tasks/exec-started"
	TopicTaskPaused      = "/tasks/paused"
	TopicTaskResumed     = "/tasks/resumed"

	TopicNamespaceCreate = "/namespaces/create"
	TopicNamespaceUpdate = "/namespaces/update"
	TopicNamespaceDelete = "/namespaces/delete"
)

// ImageCreate is published when an image record is created.
type ImageCreate struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// ImageUpdate is published when an image record is changed, its target
// or its labels; Labels are the record's labels afterwards.
type ImageUpdate struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// ImageDelete is published when an image record is removed.
type ImageDelete struct {
	Name string `json:"name"`
}

// ContainerCreate is published when a container record is created.
type ContainerCreate struct {
	ID string `json:"id"`
	// Image is the name of the image the container was made from, if
	// any.
	Image string `json:"image,omitempty"`
}

// ContainerUpdate is published when a container record is changed; the
// fields are the record's afterwards.
type ContainerUpdate struct {
	ID          string            `json:"id"`
	Image       string            `json:"image,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	SnapshotKey string            `json:"snapshot_key,omitempty"`
}

// ContainerDelete is published when a container record is removed.
type ContainerDelete struct {
	ID string `json:"id"`
}

// ContentCreate is published when a blob is committed into a namespace's
// content store.
type ContentCreate struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
}

// ContentDelete is published when a blob is removed from a namespace's
// content store.
type ContentDelete struct {
	Digest digest.Digest `json:"digest"`
}

// SnapshotPrepare is published when an active snapshot is prepared.
type SnapshotPrepare struct {
	Key         string `json:"key"`
	Parent      string `json:"parent,omitempty"`
	Snapshotter string `json:"snapshotter"`
}

// SnapshotCommit is published when the active snapshot Key is committed
// as Name.
type SnapshotCommit struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Snapshotter string `json:"snapshotter"`
}

// SnapshotRemove is published when a snapshot is removed.
type SnapshotRemove struct {
	Key         string `json:"key"`
	Snapshotter string `json:"snapshotter"`
}

// Mount is a mount of a task's root filesystem.
type Mount struct {
	Type    string   `json:"type"`
	Source  string   `json:"source"`
	Target  string   `json:"target,omitempty"`
	Options []string `json:"options,omitempty"`
}

// TaskIO names the streams of a task's init process.
type TaskIO struct {
	Stdin    string `json:"stdin,omitempty"`
	Stdout   string `json:"stdout,omitempty"`
	Stderr   string `json:"stderr,omitempty"`
	Terminal bool   `json:"terminal,omitempty"`
}

// TaskCreate is published when a container's task is created, its init
// process waiting to be started.
type TaskCreate struct {
	ContainerID string  `json:"container_id"`
	Bundle      string  `json:"bundle,omitempty"`
	Rootfs      []Mount `json:"rootfs,omitempty"`
	IO          TaskIO  `json:"io"`
	Checkpoint  string  `json:"checkpoint,omitempty"`
	Pid         uint32  `json:"pid"`
}

// TaskStart is published when a task's init process is started.
type TaskStart struct {
	ContainerID string `json:"container_id"`
	Pid         uint32 `json:"pid"`
}

// TaskExit is published when a process of a task exits: the init
// process (ID is the container's id) or an exec'd one (ID is its exec
// id).
type TaskExit struct {
	ContainerID string    `json:"container_id"`
	ID          string    `json:"id"`
	Pid         uint32    `json:"pid"`
	ExitStatus  uint32    `json:"exit_status"`
	ExitedAt    time.Time `json:"exited_at"`
}

// TaskOOM is published when a task's cgroup ran out of memory and the
// kernel killed a process of it.
type TaskOOM struct {
	ContainerID string `json:"container_id"`
}

// TaskDelete is published when a task, or an exec'd process of it (ID
// its exec id), is deleted.
type TaskDelete struct {
	ContainerID string    `json:"container_id"`
	Pid         uint32    `json:"pid"`
	ExitStatus  uint32    `json:"exit_status"`
	ExitedAt    time.Time `json:"exited_at"`
	ID          string    `json:"id"`
}

// TaskExecAdded is published when a process is added to a task with
// Exec, before it is started.
type TaskExecAdded struct {
	ContainerID string `json:"container_id"`
	ExecID      string `json:"exec_id"`
}

// TaskExecStarted is published when an exec'd process is started.
type TaskExecStarted struct {
	ContainerID string `json:"container_id"`
	ExecID      string `json:"exec_id"`
	Pid         uint32 `json:"pid"`
}

// TaskPaused is published when a task is paused.
type TaskPaused struct {
	ContainerID string `json:"container_id"`
}

// TaskResumed is published when a paused task is resumed.
type TaskResumed struct {
	ContainerID string `json:"container_id"`
}

// NamespaceCreate is published when a namespace is created.
type NamespaceCreate struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// NamespaceUpdate is published when a namespace's labels change; Labels
// are its labels afterwards.
type NamespaceUpdate struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// NamespaceDelete is published when a namespace is removed.
type NamespaceDelete struct {
	Name string `json:"name"`
}

// Topic returns "/images/create".
func (*ImageCreate) Topic() string { return TopicImageCreate }

// Topic returns "/images/update".
func (*ImageUpdate) Topic() string { return TopicImageUpdate }

// Topic returns "/images/delete".
func (*ImageDelete) Topic() string { return TopicImageDelete }

// Topic returns "/containers/create".
func (*ContainerCreate) Topic() string { return TopicContainerCreate }

// Topic returns "/containers/update".
func (*ContainerUpdate) Topic() string { return TopicContainerUpdate }

// Topic returns "/containers/delete".
func (*ContainerDelete) Topic() string { return TopicContainerDelete }

// Topic returns "/content/create".
func (*ContentCreate) Topic() string { return TopicContentCreate }

// Topic returns "/content/delete".
func (*ContentDelete) Topic() string { return TopicContentDelete }

// Topic returns "/snapshot/prepare".
func (*SnapshotPrepare) Topic() string { return TopicSnapshotPrepare }

// Topic returns "/snapshot/commit".
func (*SnapshotCommit) Topic() string { return TopicSnapshotCommit }

// Topic returns "/snapshot/remove".
func (*SnapshotRemove) Topic() string { return TopicSnapshotRemove }

// Topic returns "/tasks/create".
func (*TaskCreate) Topic() string { return TopicTaskCreate }

// Topic returns "/tasks/start".
func (*TaskStart) Topic() string { return TopicTaskStart }

// Topic returns "/tasks/exit".
func (*TaskExit) Topic() string { return TopicTaskExit }

// Topic returns "/tasks/oom".
func (*TaskOOM) Topic() string { return TopicTaskOOM }

// Topic returns "/tasks/delete".
func (*TaskDelete) Topic() string { return TopicTaskDelete }

// Topic returns "/tasks/exec-added".
func (*TaskExecAdded) Topic() string { return TopicTaskExecAdded }

// Topic returns "/tasks/exec-started".
func (*TaskExecStarted) Topic() string { return TopicTaskExecStarted }

// Topic returns "/tasks/paused".
func (*TaskPaused) Topic() string { return TopicTaskPaused }

// Topic returns "/tasks/resumed".
func (*TaskResumed) Topic() string { return TopicTaskResumed }

// Topic returns "/namespaces/create".
func (*NamespaceCreate) Topic() string { return TopicNamespaceCreate }

// Topic returns "/namespaces/update".
func (*NamespaceUpdate) Topic() string { return TopicNamespaceUpdate }

// Topic returns "/namespaces/delete".
func (*NamespaceDelete) Topic() string { return TopicNamespaceDelete }

var (
	_ Event = (*ImageCreate)(nil)
	_ Event = (*ImageUpdate)(nil)
	_ Event = (*ImageDelete)(nil)
	_ Event = (*ContainerCreate)(nil)
	_ Event = (*ContainerUpdate)(nil)
	_ Event = (*ContainerDelete)(nil)
	_ Event = (*ContentCreate)(nil)
	_ Event = (*ContentDelete)(nil)
	_ Event = (*SnapshotPrepare)(nil)
	_ Event = (*SnapshotCommit)(nil)
	_ Event = (*SnapshotRemove)(nil)
	_ Event = (*TaskCreate)(nil)
	_ Event = (*TaskStart)(nil)
	_ Event = (*TaskExit)(nil)
	_ Event = (*TaskOOM)(nil)
	_ Event = (*TaskDelete)(nil)
	_ Event = (*TaskExecAdded)(nil)
	_ Event = (*TaskExecStarted)(nil)
	_ Event = (*TaskPaused)(nil)
	_ Event = (*TaskResumed)(nil)
	_ Event = (*NamespaceCreate)(nil)
	_ Event = (*NamespaceUpdate)(nil)
	_ Event = (*NamespaceDelete)(nil)
)
