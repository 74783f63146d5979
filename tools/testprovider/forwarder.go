package main

import (
	"context"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// forwarder serves the Pulumi provider protocol as pulumi-aws and forwards each call to the
// bridge, translated. Calls it does not list stay unimplemented, as the program needs none.
type forwarder struct {
	pulumirpc.UnimplementedResourceProviderServer
	b *bridge
}

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
