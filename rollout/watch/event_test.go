package watch_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/byoc-access/byoc-access/internal/testenv"
	"github.com/byoc-access/byoc-access/rollout/watch"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		accounts []string
		ignore   string
		wantErr  string
	}{
		{name: "account created", body: testenv.OrganizationsEvent("e1", "CreateAccountResult", "111122223333"), accounts: []string{"111122223333"}},
		{name: "account moved", body: testenv.OrganizationsEvent("e2", "MoveAccount", "111122223333"), accounts: []string{"111122223333"}},
		{name: "account removed", body: testenv.OrganizationsEvent("e3", "RemoveAccountFromOrganization", "111122223333"), accounts: []string{"111122223333"}},
		{name: "account closed", body: testenv.OrganizationsEvent("e4", "CloseAccount", "111122223333"), accounts: []string{"111122223333"}},
		{name: "invitation: the target and the handshake's account party, once",
			body: `{"id":"e5","source":"aws.organizations","detail":{"eventName":"InviteAccountToOrganization","requestParameters":{"target":{"id":"111122223333","type":"ACCOUNT"}},
				"responseElements":{"handshake":{"parties":[{"id":"o-abc","type":"ORGANIZATION"},{"id":"111122223333","type":"ACCOUNT"}]}}}}`,
			accounts: []string{"111122223333"}},
		{name: "handshake accepted", body: `{"id":"e6","source":"aws.organizations","detail":{"eventName":"AcceptHandshake",
				"responseElements":{"handshake":{"parties":[{"id":"o-abc","type":"ORGANIZATION"},{"id":"444455556666","type":"ACCOUNT"}]}}}}`,
			accounts: []string{"444455556666"}},
		{name: "creation still in progress", body: `{"id":"e7","source":"aws.organizations","detail":{"eventName":"CreateAccountResult","serviceEventDetails":{"createAccountStatus":{"state":"FAILED"}}}}`,
			ignore: "account creation is FAILED"},
		{name: "a failed call", body: `{"id":"e8","source":"aws.organizations","detail":{"eventName":"MoveAccount","errorCode":"AccessDenied","requestParameters":{"accountId":"111122223333"}}}`,
			ignore: "the call failed (AccessDenied)"},
		{name: "another Organizations call", body: `{"id":"e9","source":"aws.organizations","detail":{"eventName":"CreateOrganizationalUnit"}}`,
			ignore: "does not change which accounts are targets"},
		{name: "not JSON", body: "hello", wantErr: "not JSON"},
		{name: "another source", body: `{"source":"aws.ec2","detail":{}}`, wantErr: `source "aws.ec2"`},
		{name: "no account ID", body: `{"id":"e10","source":"aws.organizations","detail":{"eventName":"MoveAccount","requestParameters":{"accountId":"12"}}}`, wantErr: "names no account ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := watch.ParseEvent([]byte(tc.body))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.True(t, watch.IsEventError(err))
				return
			}
			require.NoError(t, err)
			require.Contains(t, ev.Ignore, tc.ignore)
			if tc.ignore == "" {
				require.Empty(t, ev.Ignore)
				require.Equal(t, tc.accounts, ev.Accounts)
			}
		})
	}
}
