//! `ingress.tf.json`: what the ingress needs on the cloud side, the ACM certificate of
//! its host (DNS validation) and its DNS ([`super::edge::dns`]: with the ingress's
//! `zone`, the validation record and the host's alias to the load balancer; without it,
//! outputs).
//!
//! No load balancer here: the AWS Load Balancer Controller creates it from the Kubernetes
//! Ingress, finding the certificate by host, the subnets by tag and the security group
//! `<prefix>-ingress` by name.

use super::json::Value;

use super::json::{lit, obj, tags, TfFile};
use super::Ctx;
use crate::ir::{Ingress, Tls};

/// Renders `ingress.tf.json` (a certificate only when the ingress has a host).
pub fn emit(ctx: &Ctx<'_>, ingress: &Ingress) -> Result<TfFile, String> {
    let mut file = TfFile::new(&ctx.header(
        "Ingress certificate. The load balancer is created by the AWS Load Balancer Controller from the Kubernetes Ingress (certificate by host, subnets by tag, security group by name).",
    ));
    if let (Some(host), Tls::Managed) = (&ingress.host, ingress.tls) {
        file.resource(
            "aws_acm_certificate",
            "ingress",
            obj([
                ("domain_name", lit(host)),
                ("key_algorithm", lit("RSA_2048")),
                ("lifecycle", obj([("create_before_destroy", Value::Bool(true))])),
                ("tags", tags(host, &[])),
                ("validation_method", lit("DNS")),
            ]),
        );
        super::edge::dns(&mut file, ctx, ingress, host);
    }
    Ok(file)
}
