package commands

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cordage/cordage/clock"
)

// Registry holds the declared commands and their handlers. Declare everything with Register
// and Group, call Sync on READY, and pass every INTERACTION_CREATE to Handle.
//
// A Registry is safe for concurrent use: Handle may run for many interactions at once, and
// Register, Sync and WatchChoiceFiles may run alongside it.
type Registry struct {
	log        *zap.Logger
	clk        clock.Clock
	deferAfter time.Duration
	poll       time.Duration
	readFile   func(string) ([]byte, error)

	mu    sync.RWMutex
	top   []*node
	files map[string]*choiceFile

	syncMu sync.Mutex // one Sync at a time, so two scopes never interleave their list/overwrite
}

// RegistryOption configures a Registry.
type RegistryOption func(*Registry)

// WithLogger sets the logger (default zap.NewNop()).
func WithLogger(l *zap.Logger) RegistryOption {
	return func(r *Registry) {
		if l != nil {
			r.log = l
		}
	}
}

// WithClock sets the clock used for the automatic defer and for polling choice files
// (default the wall clock). Tests pass a manual clock.
func WithClock(c clock.Clock) RegistryOption {
	return func(r *Registry) {
		if c != nil {
			r.clk = c
		}
	}
}

// WithDeferAfter sets how long a handler may run before Handle defers the response on its
// behalf (default 2 s; Discord invalidates the interaction after 3 s without a response).
// Zero or less turns the automatic defer off.
func WithDeferAfter(d time.Duration) RegistryOption {
	return func(r *Registry) { r.deferAfter = d }
}

// WithPollInterval sets how often WatchChoiceFiles reads the choice files (default 5 s).
func WithPollInterval(d time.Duration) RegistryOption {
	return func(r *Registry) {
		if d > 0 {
			r.poll = d
		}
	}
}

// New returns an empty Registry.
func New(opts ...RegistryOption) *Registry {
	r := &Registry{
		log:        zap.NewNop(),
		clk:        clock.Real(),
		deferAfter: 2 * time.Second,
		poll:       5 * time.Second,
		readFile:   os.ReadFile,
		files:      map[string]*choiceFile{},
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

type nodeKind int

const (
	nodeLeaf  nodeKind = iota + 1 // a command or subcommand with a handler
	nodeGroup                     // a command with subcommands, or a subcommand group
)

// node is one entry of the command tree.
type node struct {
	kind     nodeKind
	meta     Meta
	typeName string // Go type for leaves; "" for groups
	depth    int    // 0 top-level, 1 under a command, 2 under a subcommand group
	spec     *typeSpec
	call     func(context.Context, *Context, reflect.Value) error
	complete func(context.Context, *Context, reflect.Value, Focused) ([]Choice, error)
	children []*node
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.meta.Name == name {
			return c
		}
	}
	return nil
}

// Parent is where a command can be registered: the Registry itself (top-level commands) or a
// Group (subcommands).
type Parent interface {
	parent() (*Registry, *node)
}

func (r *Registry) parent() (*Registry, *node) { return r, nil }

// Group is a command whose subcommands are registered separately (/admin ban, /admin kick),
// or a subcommand group inside one (/admin roles add).
type Group struct {
	r *Registry
	n *node
}

func (g *Group) parent() (*Registry, *node) { return g.r, g.n }

// Handler handles one command. opts holds the decoded options. Returning an error replies with
// it (see UserError); replying is otherwise up to the handler, through c.
type Handler[T any] func(ctx context.Context, c *Context, opts T) error

// Register declares the command type T under p (the Registry, or a Group for a subcommand) and
// sets its handler. T's exported fields are its options (see the package documentation for
// types and tags). Register checks T against Discord's rules and returns every problem found,
// each naming T and the field.
func Register[T any](p Parent, h Handler[T]) error {
	r, parent := p.parent()
	t := reflect.TypeFor[T]()
	spec, errs := deriveType(t, "")
	if len(errs) > 0 {
		return joinErrors(errs)
	}
	if h == nil {
		return &ValidationError{Type: typeName(t), Problem: "handler is nil"}
	}
	n := &node{
		kind:     nodeLeaf,
		meta:     spec.meta,
		typeName: typeName(t),
		spec:     spec,
		call: func(ctx context.Context, c *Context, v reflect.Value) error {
			return h(ctx, c, v.Interface().(T))
		},
	}
	if spec.complete {
		n.complete = func(ctx context.Context, c *Context, v reflect.Value, f Focused) ([]Choice, error) {
			// v is addressable (decodeOptions allocates it), so pointer-receiver methods work.
			return v.Addr().Interface().(Autocompleter).Autocomplete(ctx, c, f)
		}
	}
	return r.add(parent, n)
}

// Group declares a top-level command that has subcommands instead of options.
func (r *Registry) Group(m Meta) (*Group, error) {
	n := &node{kind: nodeGroup, meta: m}
	if err := r.add(nil, n); err != nil {
		return nil, err
	}
	return &Group{r: r, n: n}, nil
}

// Group declares a subcommand group inside g. Discord allows one level of groups: g must be a
// top-level command.
func (g *Group) Group(m Meta) (*Group, error) {
	n := &node{kind: nodeGroup, meta: m}
	if err := g.r.add(g.n, n); err != nil {
		return nil, err
	}
	return &Group{r: g.r, n: n}, nil
}

// add checks n in its place and links it into the tree.
func (r *Registry) add(parent *node, n *node) error {
	if parent != nil {
		n.depth = parent.depth + 1
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, &ValidationError{Type: n.typeName, Path: n.meta.Name, Problem: fmt.Sprintf(format, args...)})
	}
	if n.kind == nodeGroup && n.depth > 1 {
		fail("subcommand groups cannot be nested: Discord allows command → group → subcommand")
	}
	if n.depth > 0 {
		m := n.meta
		if m.DefaultMemberPermissions != nil || m.Contexts != nil || m.IntegrationTypes != nil || m.NSFW {
			fail("default_member_permissions, contexts, integration_types and nsfw apply to top-level commands only")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	siblings := r.top
	if parent != nil {
		siblings = parent.children
	}
	for _, s := range siblings {
		if s.meta.Name == n.meta.Name {
			fail("name %q is already registered", n.meta.Name)
		}
	}
	if n.spec != nil {
		if err := r.loadChoiceFilesLocked(n); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		// Check the node itself now, so mistakes surface at Register; limits that depend on the
		// whole command (8000 characters, 25 subcommands) are checked again by Commands.
		path := n.meta.Name
		if parent != nil {
			path = parent.meta.Name + " " + path
		}
		if _, nerrs := r.buildOption(n, path); len(nerrs) > 0 {
			errs = append(errs, nerrs...)
		}
	}
	if len(errs) > 0 {
		return joinErrors(errs)
	}
	if parent == nil {
		r.top = append(r.top, n)
	} else {
		parent.children = append(parent.children, n)
	}
	return nil
}
