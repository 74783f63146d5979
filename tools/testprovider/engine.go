package main

import (
	"context"
	"net"
	"strconv"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// relay stands in for the engine when this provider is started on its own, to be attached to
// (no engine address argument; PULUMI_DEBUG_PROVIDERS). The bridge logs through its engine
// from the moment it is parameterized and crashes without one, so it gets the relay's address
// instead; the relay passes its log messages to whichever engine attached last, and drops
// them while none is attached. One provider then serves one engine after another, as the
// rollout's per-worker provider does.
type relay struct {
	pulumirpc.UnimplementedEngineServer

	mu     sync.Mutex
	engine pulumirpc.EngineClient
	conn   *grpc.ClientConn
}

// serve starts the relay's engine server and returns its address.
func (r *relay) serve() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
	pulumirpc.RegisterEngineServer(srv, r)
	go func() { _ = srv.Serve(lis) }()
	return "127.0.0.1:" + strconv.Itoa(lis.Addr().(*net.TCPAddr).Port), nil
}

// attach makes the engine at address the one that receives the bridge's log messages.
func (r *relay) attach(address string) error {
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		_ = r.conn.Close()
	}
	r.engine, r.conn = pulumirpc.NewEngineClient(conn), conn
	return nil
}

func (r *relay) Log(ctx context.Context, req *pulumirpc.LogRequest) (*emptypb.Empty, error) {
	r.mu.Lock()
	engine := r.engine
	r.mu.Unlock()
	if engine != nil {
		// An engine that has finished is gone; its provider's late messages have no reader.
		_, _ = engine.Log(ctx, req)
	}
	return &emptypb.Empty{}, nil
}
