// The program served to the CLI as a language host in this process, so its own error is recorded with its type.

package rollout

import (
	"context"
	"fmt"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// programServer is the language runtime the CLI calls back to run the inline program, as
// the Automation API's own does for auto.Stack operations.
type programServer struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	program pulumi.RunFunc
	address string
	cancel  chan bool
	done    <-chan error
	running sync.WaitGroup
	once    sync.Once

	mu sync.Mutex
	// failed is the error the program itself returned (or its panic) in the last run.
	failed error
}

// programError is the error the program returned in its last run, nil when it succeeded or
// never ran. One server serves one operation on one stack, so this is that stack's program.
// It waits for a run still in flight: a CLI that exits normally has waited for the program
// already, but one that was killed has not (Close waits for it anyway).
func (s *programServer) programError() error {
	s.running.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func serveProgram(program pulumi.RunFunc) (*programServer, error) {
	s := &programServer{program: program, cancel: make(chan bool)}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: s.cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, s)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		return nil, err
	}
	s.address, s.done = fmt.Sprintf("127.0.0.1:%d", handle.Port), handle.Done
	return s, nil
}

// Close waits for a program run still in flight (the CLI may have been killed under it) and
// stops the server.
func (s *programServer) Close() {
	s.once.Do(func() {
		s.running.Wait()
		close(s.cancel)
		<-s.done
	})
}

func (s *programServer) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (s *programServer) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: "1.0.0"}, nil
}

func (s *programServer) InstallDependencies(*pulumirpc.InstallDependenciesRequest, pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil
}

func (s *programServer) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	s.running.Add(1)
	defer s.running.Done()
	engineAddress := ""
	if len(req.Args) > 0 {
		engineAddress = req.Args[0]
	}
	pctx, err := pulumi.NewContext(ctx, pulumi.RunInfo{
		EngineAddr:       engineAddress,
		MonitorAddr:      req.GetMonitorAddress(),
		Config:           req.GetConfig(),
		ConfigSecretKeys: req.GetConfigSecretKeys(),
		Project:          req.GetProject(),
		Stack:            req.GetStack(),
		Parallel:         req.GetParallel(),
		DryRun:           req.GetDryRun(),
		Organization:     req.GetOrganization(),
	})
	if err != nil {
		return nil, err
	}
	defer pctx.Close()
	s.mu.Lock()
	s.failed = nil
	s.mu.Unlock()
	err = func() (err error) {
		// A panic in the program fails this account, not the whole fleet process.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("go inline source runtime error, an unhandled panic occurred: %v", r)
			}
		}()
		return pulumi.RunWithContext(pctx, recording(s.program, func(err error) {
			s.mu.Lock()
			s.failed = err
			s.mu.Unlock()
		}))
	}()
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// recording wraps a program so that what it returns, or a panic in it, is handed to record
// before the SDK frames it: the error the program's body returned, not the SDK's own errors
// (a resource registration the engine refused is reported by the engine, on the resource).
func recording(program pulumi.RunFunc, record func(error)) pulumi.RunFunc {
	return func(ctx *pulumi.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("go inline source runtime error, an unhandled panic occurred: %v", r)
			}
			if err != nil {
				record(err)
			}
		}()
		return program(ctx)
	}
}
