import * as byoc from "@byoc-access/byoc-access";

const sk = new byoc.VendorAccess("streamkap", {
    vendor: "streamkap",
    params: { external_id: "sk-tenant-7" },
    tags: { Team: "data" },
});
export const roleArns = sk.roleArns;
export const handoff = sk.handoff;
