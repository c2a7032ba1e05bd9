#!/usr/bin/env python3
"""List what the AWS emulator still holds after a destroy (run with the moto venv's python).

usage: emulator_leftovers.py REPORT_JSON
env:   AWS_ENDPOINT_URL (the emulator), AWS_DEFAULT_REGION, fake AWS_ACCESS_KEY_ID/SECRET

Asks every service a govc root uses for its objects, minus what an empty account already
has (the default VPC and its subnets, route table, security group, network ACL and
internet gateway; AWS-managed KMS keys; default RDS parameter groups; KMS keys already
scheduled for deletion, which is how a KMS key is destroyed). Prints a one-line summary,
then one line per leftover; exit 0 when nothing is left, 1 otherwise.
"""
import json
import sys

import boto3


def leftovers():
    ec2 = boto3.client("ec2")
    default_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")}

    def in_default(item):
        return item.get("VpcId") in default_vpcs

    found = {}
    found["ec2 vpc"] = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    found["ec2 subnet"] = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if not in_default(s)]
    found["ec2 security group"] = [
        g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if not in_default(g)
    ]
    found["ec2 route table"] = [r["RouteTableId"] for r in ec2.describe_route_tables()["RouteTables"] if not in_default(r)]
    found["ec2 internet gateway"] = [
        g["InternetGatewayId"]
        for g in ec2.describe_internet_gateways()["InternetGateways"]
        if not any(a.get("VpcId") in default_vpcs for a in g.get("Attachments", []))
    ]
    found["ec2 nat gateway"] = [
        n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n.get("State") not in ("deleted",)
    ]
    found["ec2 elastic ip"] = [a.get("AllocationId") for a in ec2.describe_addresses()["Addresses"]]
    found["ec2 vpc endpoint"] = [
        e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e.get("State") != "deleted"
    ]
    found["ec2 flow log"] = [f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]]
    found["ec2 launch template"] = [t["LaunchTemplateId"] for t in ec2.describe_launch_templates()["LaunchTemplates"]]

    kms = boto3.client("kms")
    keys = []
    for k in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") == "CUSTOMER" and meta.get("KeyState") != "PendingDeletion":
            keys.append(k["KeyId"])
    found["kms key"] = keys
    found["kms alias"] = [a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")]

    sm = boto3.client("secretsmanager")
    found["secretsmanager secret"] = [s["Name"] for s in sm.list_secrets()["SecretList"]]

    rds = boto3.client("rds")
    found["rds instance"] = [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]]
    found["rds subnet group"] = [g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]]
    found["rds parameter group"] = [
        g["DBParameterGroupName"]
        for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
        if not g["DBParameterGroupName"].startswith("default.")
    ]

    iam = boto3.client("iam")
    found["iam role"] = [r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/")]
    found["iam policy"] = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]

    logs = boto3.client("logs")
    found["logs log group"] = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]

    eks = boto3.client("eks")
    clusters = eks.list_clusters()["clusters"]
    found["eks cluster"] = clusters
    found["eks node group"] = [f"{c}/{n}" for c in clusters for n in eks.list_nodegroups(clusterName=c)["nodegroups"]]

    r53 = boto3.client("route53")
    found["route53 zone"] = [z["Name"] for z in r53.list_hosted_zones()["HostedZones"]]

    acm = boto3.client("acm")
    found["acm certificate"] = [c["DomainName"] for c in acm.list_certificates()["CertificateSummaryList"]]

    s3 = boto3.client("s3")
    found["s3 bucket"] = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found = leftovers()
    with open(sys.argv[1], "w") as fh:
        json.dump(found, fh, indent=2, sort_keys=True)
        fh.write("\n")
    left = [(kind, item) for kind, items in sorted(found.items()) for item in items]
    print(f"{len(found)} object kinds checked, {len(left)} left")
    for kind, item in left:
        print(f"{kind}: {item}")
    sys.exit(1 if left else 0)


if __name__ == "__main__":
    main()
