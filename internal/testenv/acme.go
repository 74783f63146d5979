package testenv

// AcmeSpec is the README's Acme vendor spec (one policy that is also the role's permission
// boundary, a trust with an external ID, a list parameter), which the lifecycle and the
// examples' tests deploy through a spec file.
const AcmeSpec = `apiVersion: byoc-access/v1
vendor: Acme
name: acme
parameters:
  - {name: external_id, type: string, required: true, format: externalId, description: Your Acme tenant ID}
  - {name: buckets, type: list, default: [acme-exports], description: Buckets Acme reads}
locals:
  - {name: bucket_arns, forEach: buckets, format: "arn:${partition}:s3:::${each}"}
policies:
  - id: read
    name: AcmeRead
    path: /acme/
    document:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Action: ["s3:GetObject"], Resource: ["${bucket_arns}"]}
roles:
  - name: AcmeAccess
    maxSessionDuration: 3600
    permissionsBoundary: read
    trust:
      - sid: AllowAcme
        actions: ["sts:AssumeRole"]
        principals: [{type: AWS, identifiers: "arn:aws:iam::111122223333:role/acme"}]
        conditions:
          - {test: StringEquals, variable: "sts:ExternalId", values: "${external_id}", when: [external_id]}
    policies:
      - policy: read
      - policy: arn:${partition}:iam::aws:policy/ReadOnlyAccess
handoff:
  externalIdParam: external_id
`
