package main

import (
	"context"
	"os"
	"strings"
	"sync/atomic"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// forwarder serves the Pulumi provider protocol as pulumi-aws and forwards each call to the
// bridge, translated. Calls it does not list stay unimplemented, as the program needs none.
type forwarder struct {
	pulumirpc.UnimplementedResourceProviderServer
	b *bridge
	// engines relays the bridge's log messages to the attached engine; nil when the engine
	// started this provider itself.
	engines *relay
	// configured counts Configure calls.
	configured atomic.Int32
}

// configureOnceEnv makes every Configure after the first fail, the way the Terraform AWS
// provider fails a second configuration with AWS_CA_BUNDLE set: the tests use it to check that
// the rollout copes with a provider that cannot serve a second account.
const configureOnceEnv = "BYOC_TESTPROVIDER_CONFIGURE_ONCE"

// noAttachEnv makes Attach fail, as a provider built without attach support would: the tests
// use it to check that the rollout then lets every CLI start its own provider.
const noAttachEnv = "BYOC_TESTPROVIDER_NO_ATTACH"

// call translates a request, waits for the bridge and forwards the call.
func call[Req proto.Message, Resp any](ctx context.Context, f *forwarder, req Req,
	fn func(pulumirpc.ResourceProviderClient, context.Context, Req, ...grpc.CallOption) (Resp, error),
) (Resp, error) {
	var zero Resp
	t, err := translateRequest(req)
	if err != nil {
		return zero, err
	}
	c, err := f.b.wait(ctx)
	if err != nil {
		return zero, err
	}
	return fn(c, ctx, t)
}

func (f *forwarder) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (f *forwarder) CheckConfig(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	t := proto.Clone(req).(*pulumirpc.CheckRequest)
	if err := bridgeConfigs(&t.Olds, &t.News); err != nil {
		return nil, err
	}
	resp, err := call(ctx, f, t, pulumirpc.ResourceProviderClient.CheckConfig)
	if err != nil || resp.GetInputs() == nil {
		return resp, err
	}
	// The engine keeps the checked inputs as the provider's state: keep them in pulumi-aws's
	// shape, so state reads as it would with the real plugin.
	delete(resp.Inputs.Fields, "assumeRoles")
	if v, ok := req.GetNews().GetFields()["assumeRole"]; ok {
		resp.Inputs.Fields["assumeRole"] = v
	}
	return resp, nil
}

func (f *forwarder) DiffConfig(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	t := proto.Clone(req).(*pulumirpc.DiffRequest)
	if err := bridgeConfigs(&t.Olds, &t.News, &t.OldInputs); err != nil {
		return nil, err
	}
	resp, err := call(ctx, f, t, pulumirpc.ResourceProviderClient.DiffConfig)
	if err != nil || resp == nil {
		return resp, err
	}
	rename := func(k string) string {
		if rest, ok := strings.CutPrefix(k, "assumeRoles[0]"); ok {
			return "assumeRole" + rest
		}
		return k
	}
	for i, k := range resp.Replaces {
		resp.Replaces[i] = rename(k)
	}
	for i, k := range resp.Diffs {
		resp.Diffs[i] = rename(k)
	}
	if len(resp.DetailedDiff) > 0 {
		dd := make(map[string]*pulumirpc.PropertyDiff, len(resp.DetailedDiff))
		for k, v := range resp.DetailedDiff {
			dd[rename(k)] = v
		}
		resp.DetailedDiff = dd
	}
	return resp, nil
}

func (f *forwarder) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	if f.configured.Add(1) > 1 && os.Getenv(configureOnceEnv) != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "configured once already (%s is set: this test provider stands for one that cannot be configured twice)", configureOnceEnv)
	}
	t := proto.Clone(req).(*pulumirpc.ConfigureRequest)
	var err error
	if t.Variables, err = bridgeVariables(t.Variables); err != nil {
		return nil, err
	}
	if err := bridgeConfigs(&t.Args); err != nil {
		return nil, err
	}
	return call(ctx, f, t, pulumirpc.ResourceProviderClient.Configure)
}

func (f *forwarder) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return call(ctx, f, req, pulumirpc.ResourceProviderClient.Invoke)
}

func (f *forwarder) Check(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return call(ctx, f, req, pulumirpc.ResourceProviderClient.Check)
}

func (f *forwarder) Diff(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return call(ctx, f, req, pulumirpc.ResourceProviderClient.Diff)
}

func (f *forwarder) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	return call(ctx, f, req, pulumirpc.ResourceProviderClient.Create)
}

func (f *forwarder) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return call(ctx, f, req, pulumirpc.ResourceProviderClient.Read)
}

func (f *forwarder) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return call(ctx, f, req, pulumirpc.ResourceProviderClient.Update)
}

func (f *forwarder) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return call(ctx, f, req, pulumirpc.ResourceProviderClient.Delete)
}

func (f *forwarder) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	select {
	case <-f.b.ready:
		if f.b.client != nil {
			return f.b.client.Cancel(ctx, &emptypb.Empty{})
		}
	default:
	}
	return &emptypb.Empty{}, nil
}

// Attach is how an engine takes a provider that was started on its own
// (PULUMI_DEBUG_PROVIDERS): the rollout keeps one provider per worker across accounts, and each
// account's engine attaches in turn. The bridge keeps logging to the relay, which passes its
// messages on to this engine.
func (f *forwarder) Attach(ctx context.Context, req *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	if f.engines == nil {
		return nil, status.Error(codes.FailedPrecondition, "this provider was started by an engine; it cannot be attached to")
	}
	if os.Getenv(noAttachEnv) != "" {
		return nil, status.Errorf(codes.Unimplemented, "attach (%s is set: this test provider stands for one that cannot be attached to)", noAttachEnv)
	}
	if err := f.engines.attach(req.GetAddress()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
