package rollout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The tests need resource operations that fail the way the AWS provider's do (throttled, for
// one), without the AWS plugin. The test binary is that provider: linked on PATH as
// pulumi-resource-byoctest, where the CLI finds ambient plugins, it serves a provider instead
// of running tests. Its one resource type, byoctest:index:Flaky, fails Create with the message
// in its "failWith" input, and otherwise succeeds; it needs no state of its own.

const testProviderName = "pulumi-resource-byoctest"

// FlakyType is the test provider's resource type.
const FlakyType = "byoctest:index:Flaky"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == testProviderName {
		if err := serveTestProvider(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// UseTestProvider puts the test provider on PATH for the CLIs this test starts.
func UseTestProvider(t testing.TB) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("test provider: %v", err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, testProviderName)); err != nil {
		t.Fatalf("test provider: %v", err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// Flaky is a byoctest:index:Flaky resource.
type Flaky struct{ pulumi.CustomResourceState }

// NewFlaky registers a Flaky resource whose creation fails with failWith ("" succeeds).
func NewFlaky(ctx *pulumi.Context, name, failWith string, opts ...pulumi.ResourceOption) (*Flaky, error) {
	var r Flaky
	props := pulumi.Map{"failWith": pulumi.String(failWith)}
	return &r, ctx.RegisterResource(FlakyType, name, props, &r, opts...)
}

type testProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func serveTestProvider() error {
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, &testProvider{})
			return nil
		},
	})
	if err != nil {
		return err
	}
	// The engine reads the port from the plugin's first line of output.
	fmt.Println(handle.Port)
	return <-handle.Done
}

func (p *testProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: "1.0.0"}, nil
}

func (p *testProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *testProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *testProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *testProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *testProvider) Diff(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *testProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if msg := req.GetProperties().GetFields()["failWith"].GetStringValue(); msg != "" && !req.GetPreview() {
		// As the AWS provider answers: an error status whose description is the message.
		return nil, status.Error(codes.Unknown, msg)
	}
	return &pulumirpc.CreateResponse{Id: "flaky", Properties: req.GetProperties()}, nil
}

func (p *testProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *testProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return &pulumirpc.UpdateResponse{Properties: req.GetNews()}, nil
}

func (p *testProvider) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *testProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
