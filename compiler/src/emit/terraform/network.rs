//! `network.tf.json`: the VPC, one subnet per segment and zone, routing, VPC flow logs
//! and the VPC endpoints that serve the nodes' own needs; security groups come from
//! [`super::security`].
//!
//! Routing: an internet gateway exists only when the ingress segment is public or a
//! service declares `egress`; NAT gateways (in the ingress subnets: one per zone in
//! production, one elsewhere) exist only for declared egress, and only the runtime
//! segment routes `0.0.0.0/0` through them (one runtime route table per zone when each
//! zone has its NAT); persistence has no route out. Without egress only the ingress
//! segment routes to the internet gateway. With egress the AWS Network Firewall sits in
//! between ([`super::firewall`]): one ingress route table per zone sends `0.0.0.0/0` to
//! the firewall endpoint of that zone, the firewall subnets' table sends it to the
//! internet gateway (the only table that does), and an edge route table associated with
//! the internet gateway sends each ingress subnet's CIDR back through the endpoint of its
//! zone.
//!
//! VPC endpoints (runtime subnets, private DNS on), the documented minimum for a
//! private EKS cluster without general egress: `s3` (gateway: ECR image layers),
//! `ecr.api` and `ecr.dkr` (image pulls), `ec2` (VPC CNI, node bootstrap), `sts`
//! (Pod Identity / IRSA credentials), `eks-auth` (EKS Pod Identity), `logs` (CloudWatch
//! agents), `elasticloadbalancing` (AWS Load Balancer Controller) and `secretsmanager`
//! (External Secrets operator); plus `acm` when the ingress has a managed certificate
//! (the AWS Load Balancer Controller discovers it by host through the ACM API).

use super::json::Value;

use super::iam::{self, ServiceGrant};
use super::json::{ident, lit, obj, reference, reference_of, refs, tags, TfFile};
use super::{firewall, security, subnet_ident, zone_letter, Ctx};
use crate::ir::{Exposure, SegmentRole, Tier};

/// Interface endpoints in the runtime segment (see the module doc for why each).
pub const INTERFACE_ENDPOINTS: [&str; 8] =
    ["ec2", "ecr.api", "ecr.dkr", "eks-auth", "elasticloadbalancing", "logs", "secretsmanager", "sts"];

/// Retention of every log group govc creates (CIS and checkov ask for a year).
pub const LOG_RETENTION_DAYS: u32 = 365;

/// Renders `network.tf.json`.
pub fn emit(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let mut file = TfFile::new(
        &ctx.header("VPC, subnets per segment and zone, routing, flow logs, VPC endpoints and security groups."),
    );
    vpc(&mut file, ctx);
    flow_logs(&mut file, ctx);
    subnets(&mut file, ctx)?;
    routing(&mut file, ctx)?;
    endpoints(&mut file, ctx);
    security::emit(&mut file, ctx);
    Ok(file)
}

fn vpc(file: &mut TfFile, ctx: &Ctx<'_>) {
    file.resource(
        "aws_vpc",
        "main",
        obj([
            ("cidr_block", lit(ctx.cidr.to_string())),
            ("enable_dns_hostnames", Value::Bool(true)),
            ("enable_dns_support", Value::Bool(true)),
            ("tags", tags(&ctx.prefix, &[])),
        ]),
    );
    // No ingress/egress blocks: Terraform removes every rule of the default group.
    file.resource(
        "aws_default_security_group",
        "main",
        obj([("tags", tags(&ctx.name("default-locked", 255), &[])), ("vpc_id", reference("aws_vpc.main.id"))]),
    );
}

/// Flow logs to a KMS-encrypted CloudWatch log group kept a year (a log bucket would
/// need its own logging, replication and lifecycle to pass the same scan).
fn flow_logs(file: &mut TfFile, ctx: &Ctx<'_>) {
    let logs_arn = format!("arn:aws:logs:{}:{}:log-group:*", ctx.region, ctx.account);
    iam::kms_key(
        file,
        ctx,
        "logs",
        "logs",
        "CloudWatch log groups (VPC flow logs, EKS control plane)",
        &[ServiceGrant {
            sid: "CloudWatchLogsUse",
            service: format!("logs.{}.amazonaws.com", ctx.region),
            actions: &["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            condition: Some(("ArnLike", "kms:EncryptionContext:aws:logs:arn", logs_arn)),
        }],
    );
    let name = format!("/govc/{}/vpc-flow-logs", ctx.prefix);
    file.resource(
        "aws_cloudwatch_log_group",
        "flow_logs",
        obj([
            ("kms_key_id", reference("aws_kms_key.logs.arn")),
            ("name", lit(&name)),
            ("retention_in_days", Value::from(LOG_RETENTION_DAYS)),
            ("tags", tags(&name, &[])),
        ]),
    );
    iam::service_role(file, ctx, "flow_logs", "vpc-flow-logs", "vpc-flow-logs.amazonaws.com", &["sts:AssumeRole"], &[]);
    iam::inline_policy(
        file,
        "flow_logs",
        "flow_logs",
        vec![iam::allow(
            "WriteFlowLogs",
            &["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            vec![iam::log_streams("flow_logs")],
        )],
    );
    file.resource(
        "aws_flow_log",
        "main",
        obj([
            ("iam_role_arn", reference("aws_iam_role.flow_logs.arn")),
            ("log_destination", reference("aws_cloudwatch_log_group.flow_logs.arn")),
            ("log_destination_type", lit("cloud-watch-logs")),
            ("tags", tags(&ctx.name("flow-logs", 255), &[])),
            ("traffic_type", lit("ALL")),
            ("vpc_id", reference("aws_vpc.main.id")),
        ]),
    );
}

fn subnets(file: &mut TfFile, ctx: &Ctx<'_>) -> Result<(), String> {
    let cluster_tag = (format!("kubernetes.io/cluster/{}", ctx.prefix), "shared".to_string());
    for segment in &ctx.network.segments {
        for (i, cidr) in segment.subnets.iter().enumerate() {
            let mut extra = Vec::new();
            if segment.role == SegmentRole::Ingress {
                let role = match segment.exposure {
                    Exposure::Public => "kubernetes.io/role/elb",
                    Exposure::Private => "kubernetes.io/role/internal-elb",
                };
                extra.push((role.to_string(), "1".to_string()));
            }
            if segment.role != SegmentRole::Persistence {
                extra.push(cluster_tag.clone());
            }
            let name = ctx.name(&format!("{}-{}", segment.role.as_str(), super::zone_letter(i)), 255);
            file.resource(
                "aws_subnet",
                &subnet_ident(segment.role, i),
                obj([
                    ("availability_zone", lit(ctx.zone(i))),
                    ("cidr_block", lit(cidr.to_string())),
                    ("map_public_ip_on_launch", Value::Bool(false)),
                    ("tags", tags(&name, &extra)),
                    ("vpc_id", reference("aws_vpc.main.id")),
                ]),
            );
        }
    }
    if firewall::needed(ctx) {
        firewall::subnet_resources(file, ctx)?;
    }
    Ok(())
}

/// How many NAT gateways: none without declared egress, one per zone in production
/// (a zone failure must not cut egress), one otherwise (cost).
pub fn nat_zones(ctx: &Ctx<'_>) -> usize {
    match (ctx.has_egress(), ctx.env.tier) {
        (false, _) => 0,
        (true, Tier::Production) => ctx.network.segment(SegmentRole::Ingress).subnets.len(),
        (true, _) => 1,
    }
}

/// The runtime route tables: one per zone when each zone has its own NAT, else one.
pub fn runtime_route_tables(ctx: &Ctx<'_>) -> Vec<String> {
    let zones = ctx.network.segment(SegmentRole::Runtime).subnets.len();
    if nat_zones(ctx) > 1 {
        (0..zones).map(|i| format!("runtime_{}", zone_letter(i))).collect()
    } else {
        vec!["runtime".to_string()]
    }
}

fn routing(file: &mut TfFile, ctx: &Ctx<'_>) -> Result<(), String> {
    let nats = nat_zones(ctx);
    let firewall = firewall::needed(ctx);
    let igw = nats > 0 || ctx.public_ingress();
    if igw {
        file.resource(
            "aws_internet_gateway",
            "main",
            obj([("tags", tags(&ctx.prefix, &[])), ("vpc_id", reference("aws_vpc.main.id"))]),
        );
    }
    for i in 0..nats {
        let letter = zone_letter(i);
        let name = ctx.name(&format!("nat-{letter}"), 255);
        file.resource("aws_eip", &format!("nat_{letter}"), obj([("domain", lit("vpc")), ("tags", tags(&name, &[]))]));
        file.resource(
            "aws_nat_gateway",
            &letter.to_string(),
            obj([
                ("allocation_id", reference(format!("aws_eip.nat_{letter}.id"))),
                ("depends_on", Value::Array(vec![lit("aws_internet_gateway.main")])),
                ("subnet_id", reference(format!("aws_subnet.{}.id", subnet_ident(SegmentRole::Ingress, i)))),
                ("tags", tags(&name, &[])),
            ]),
        );
    }
    let mut table = |ident: &str, target: Option<(&'static str, String)>| {
        file.resource(
            "aws_route_table",
            ident,
            obj([
                ("tags", tags(&ctx.name(&ident.replace('_', "-"), 255), &[])),
                ("vpc_id", reference("aws_vpc.main.id")),
            ]),
        );
        if let Some((key, target)) = target {
            file.resource(
                "aws_route",
                &format!("{ident}_default"),
                obj([
                    ("destination_cidr_block", lit("0.0.0.0/0")),
                    (key, reference(target)),
                    ("route_table_id", reference_of(&["aws_route_table.", ident, ".id"])),
                ]),
            );
        }
    };
    let ingress = ingress_route_tables(ctx);
    if firewall {
        // Routes to the firewall endpoints and the edge association: firewall::routes.
        for ident in ingress.iter().map(String::as_str).chain(["firewall", "edge"]) {
            table(ident, None);
        }
    } else {
        table("ingress", igw.then(|| ("gateway_id", "aws_internet_gateway.main.id".to_string())));
    }
    table("persistence", None);
    let runtime = runtime_route_tables(ctx);
    for (i, ident) in runtime.iter().enumerate() {
        let nat =
            (nats > 0).then(|| ("nat_gateway_id", format!("aws_nat_gateway.{}.id", zone_letter(i.min(nats - 1)))));
        table(ident, nat);
    }
    for segment in &ctx.network.segments {
        for i in 0..segment.subnets.len() {
            let table = match segment.role {
                SegmentRole::Runtime => runtime[i.min(runtime.len() - 1)].clone(),
                SegmentRole::Ingress => ingress[i.min(ingress.len() - 1)].clone(),
                SegmentRole::Persistence => "persistence".to_string(),
            };
            let subnet = subnet_ident(segment.role, i);
            file.resource(
                "aws_route_table_association",
                &subnet,
                obj([
                    ("route_table_id", reference_of(&["aws_route_table.", &table, ".id"])),
                    ("subnet_id", reference_of(&["aws_subnet.", &subnet, ".id"])),
                ]),
            );
        }
    }
    if firewall {
        firewall::routes(file, ctx)?;
    }
    Ok(())
}

/// The ingress route tables: one per zone behind a firewall (each zone's default route
/// goes to the firewall endpoint of that zone), else one.
pub fn ingress_route_tables(ctx: &Ctx<'_>) -> Vec<String> {
    if firewall::needed(ctx) {
        let zones = ctx.network.segment(SegmentRole::Ingress).subnets.len();
        (0..zones).map(|i| format!("ingress_{}", zone_letter(i))).collect()
    } else {
        vec!["ingress".to_string()]
    }
}

fn endpoints(file: &mut TfFile, ctx: &Ctx<'_>) {
    file.resource(
        "aws_vpc_endpoint",
        "s3",
        obj([
            ("route_table_ids", refs(runtime_route_tables(ctx).iter().map(|t| format!("aws_route_table.{t}.id")))),
            ("service_name", lit(format!("com.amazonaws.{}.s3", ctx.region))),
            ("tags", tags(&ctx.name("s3", 255), &[])),
            ("vpc_endpoint_type", lit("Gateway")),
            ("vpc_id", reference("aws_vpc.main.id")),
        ]),
    );
    for service in interface_endpoints(ctx) {
        file.resource(
            "aws_vpc_endpoint",
            &ident(service),
            obj([
                ("private_dns_enabled", Value::Bool(true)),
                ("security_group_ids", refs(["aws_security_group.endpoints.id"])),
                ("service_name", lit(format!("com.amazonaws.{}.{service}", ctx.region))),
                ("subnet_ids", refs(ctx.subnet_ids(SegmentRole::Runtime))),
                ("tags", tags(&ctx.name(service, 255), &[])),
                ("vpc_endpoint_type", lit("Interface")),
                ("vpc_id", reference("aws_vpc.main.id")),
            ]),
        );
    }
}

/// The interface endpoints of an environment: [`INTERFACE_ENDPOINTS`], plus `acm` when the
/// ingress has a certificate to discover.
pub fn interface_endpoints(ctx: &Ctx<'_>) -> Vec<&'static str> {
    let mut all = INTERFACE_ENDPOINTS.to_vec();
    if ctx.env.resources.ingress().is_some_and(|i| i.host.is_some()) {
        all.push("acm");
        all.sort_unstable();
    }
    all
}
