// Command pulumi-resource-aws is byoc-access's test stand-in for the Pulumi AWS provider, for
// machines where the real plugin cannot be installed. pulumi-aws is the Terraform AWS
// provider bridged into Pulumi; this binary serves the same Terraform provider through
// Pulumi's dynamically bridged provider (pulumi-terraform-bridge/dynamic), started as a child,
// parameterized with the local terraform-provider-aws binary, and forwards every call with
// pulumi-aws's names translated to the bridge's and back. It reports itself as the pulumi-aws
// version the program's SDK asks for, so the program runs on it unchanged.
//
// It belongs to the test environment: scripts/install-testprovider.sh builds it and tests put
// it on PATH only where the real pulumi-resource-aws is not installed.
//
// The bridge leaves its Terraform provider process running when it is shut down, so the
// bridge runs in a process group of its own, and this binary ends that whole group when the
// engine stops it (SIGINT, SIGTERM), when its own server stops, and when its parent (the
// Pulumi CLI) is gone, e.g. after a SIGKILL of the CLI; the group's guard ends it when this
// binary is killed outright (guard.go).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// version is the pulumi-aws version reported to the engine; the install script sets it from
// the project's pulumi-aws SDK, which is the version the program's resources ask for.
var version = "6.83.0"

// tfProviderVersion is the Terraform AWS provider that pulumi-aws 6.83 bridges.
const tfProviderVersion = "5.100.0"

const maxMsg = 400 * 1024 * 1024

func main() {
	if len(os.Args) > 2 && os.Args[1] == guardArg {
		os.Exit(guard(os.Args[2], os.Args[3:]))
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-resource-aws (byoc-access test provider):", err)
		os.Exit(1)
	}
}

func run() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	dir := filepath.Dir(self)
	tf := os.Getenv("BYOC_TF_PROVIDER_AWS")
	if tf == "" {
		tf = filepath.Join(dir, "terraform-provider-aws")
	}
	b := &bridge{self: self, bin: filepath.Join(dir, "pulumi-terraform-bridge"), tfPath: tf, args: os.Args[1:], ready: make(chan struct{})}
	var engines *relay
	if len(b.args) == 0 {
		// Started on its own, to be attached to: the bridge logs through the relay.
		engines = &relay{}
		addr, err := engines.serve()
		if err != nil {
			return err
		}
		b.args = []string{addr}
	}
	go b.start()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.stop()
		return err
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
	pulumirpc.RegisterResourceProviderServer(srv, &forwarder{b: b, engines: engines})

	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)

	stopping := make(chan os.Signal, 2)
	signal.Notify(stopping, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stopping
		b.stop()
		os.Exit(0)
	}()
	go watchParent(b)

	err = srv.Serve(lis)
	b.stop()
	return err
}

// watchParent ends the bridge's process group once this process's parent is gone: a CLI that
// was killed outright cannot stop its plugins, and they must not outlive it.
func watchParent(b *bridge) {
	parent := os.Getppid()
	for {
		time.Sleep(500 * time.Millisecond)
		if os.Getppid() != parent {
			b.stop()
			os.Exit(0)
		}
	}
}

// bridge is the dynamically bridged provider running in its own process group, below its
// guard (guard.go), which is this binary.
type bridge struct {
	self, bin, tfPath string
	args              []string

	ready  chan struct{}
	client pulumirpc.ResourceProviderClient
	err    error

	mu      sync.Mutex
	pgid    int
	stopped bool
}

func (b *bridge) start() {
	defer close(b.ready)
	b.client, b.err = b.launch()
}

func (b *bridge) launch() (pulumirpc.ResourceProviderClient, error) {
	if _, err := os.Stat(b.tfPath); err != nil {
		return nil, fmt.Errorf("terraform-provider-aws: %w (set BYOC_TF_PROVIDER_AWS, or rerun scripts/install-testprovider.sh)", err)
	}
	cmd := exec.Command(b.self, append([]string{guardArg, b.bin}, b.args...)...)
	cmd.SysProcAttr = guardProcAttr()
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return nil, errors.New("stopped before the bridge started")
	}
	if err := cmd.Start(); err != nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", b.bin, err)
	}
	b.pgid = cmd.Process.Pid
	b.mu.Unlock()
	go func() { _ = cmd.Wait() }()

	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("read the bridge's port: %w", err)
	}
	go func() { _, _ = io.Copy(os.Stderr, r) }()
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return nil, fmt.Errorf("the bridge printed %q where its port was expected", strings.TrimSpace(line))
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	if err != nil {
		return nil, fmt.Errorf("connect to the bridge: %w", err)
	}
	client := pulumirpc.NewResourceProviderClient(conn)

	value, err := json.Marshal(map[string]any{
		"local":    map[string]string{"path": b.tfPath},
		"includes": bridgeIncludes,
	})
	if err != nil {
		return nil, err
	}
	// The bridge knows no resource until it is parameterized, and takes one parameterization.
	_, err = client.Parameterize(context.Background(), &pulumirpc.ParameterizeRequest{
		Parameters: &pulumirpc.ParameterizeRequest_Value{Value: &pulumirpc.ParameterizeRequest_ParametersValue{
			Name: "aws", Version: tfProviderVersion, Value: value,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("parameterize the bridge with %s: %w", b.tfPath, err)
	}
	return client, nil
}

// wait returns the bridge's client once it is parameterized.
func (b *bridge) wait(ctx context.Context) (pulumirpc.ResourceProviderClient, error) {
	select {
	case <-b.ready:
		return b.client, b.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stop ends the bridge and every process it started (the Terraform provider among them).
func (b *bridge) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	if b.pgid > 0 {
		_ = syscall.Kill(-b.pgid, syscall.SIGKILL)
		b.pgid = 0
	}
}
