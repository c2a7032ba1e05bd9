//! `postgres.tf.json`: per database a CMK, subnet group over the persistence subnets,
//! a parameter group forcing TLS and logging DDL and slow queries, the instance and
//! its read replicas; the private zone `<env>.<project>.internal` with a CNAME per
//! database named exactly `ir::Postgres::host`, which is how Kubernetes finds it.
//!
//! The master password is managed by RDS in Secrets Manager (never in the state as a
//! literal); applications use IAM authentication or that managed secret.

use super::json::Value;

use super::iam;
use super::json::{ident, lit, lits, obj, reference, reference_of, refs, tags, TfFile};
use super::Ctx;
use crate::ir::{Postgres, SegmentRole};

/// The instance class when the program does not size the database (before `sizing`).
pub const DEFAULT_CLASS: &str = "db.t4g.medium";

/// The master user name (its password is managed by RDS in Secrets Manager).
pub const MASTER_USER: &str = crate::emit::names::DB_MASTER_USER;

/// Enhanced monitoring granularity, seconds.
pub const MONITORING_INTERVAL: u32 = 60;

/// Statements slower than this are logged, milliseconds.
pub const SLOW_QUERY_MS: u32 = 1000;

/// The private hosted zone of an environment: `<env>.<project>.internal`.
pub fn zone_name(ctx: &Ctx<'_>) -> String {
    format!("{}.{}.internal", ctx.env.name, ctx.project)
}

/// Renders `postgres.tf.json`.
pub fn emit(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let mut file = TfFile::new(
        &ctx.header("Postgres: CMK, subnet and parameter groups, instances, read replicas, private DNS names."),
    );
    iam::service_role(
        &mut file,
        ctx,
        "rds_monitoring",
        "rds-monitoring",
        "monitoring.rds.amazonaws.com",
        &["sts:AssumeRole"],
        &["service-role/AmazonRDSEnhancedMonitoringRole"],
    );
    let zone = zone_name(ctx);
    file.resource(
        "aws_route53_zone",
        "internal",
        obj([
            ("comment", lit(format!("Private names of {}", ctx.prefix))),
            ("name", lit(&zone)),
            ("tags", tags(&zone, &[])),
            ("vpc", Value::Array(vec![obj([("vpc_id", reference("aws_vpc.main.id"))])])),
        ]),
    );
    for db in &ctx.env.resources.databases {
        if !db.host.ends_with(&format!(".{zone}")) {
            return Err(format!("postgres `{}`: host `{}` is not in the zone `{zone}`", db.name, db.host));
        }
        database(&mut file, ctx, db);
    }
    Ok(file)
}

fn database(file: &mut TfFile, ctx: &Ctx<'_>, db: &Postgres) {
    let id = ident(&db.name);
    let key = format!("db_{id}");
    iam::kms_key(file, ctx, &key, &db.name, &format!("postgres {} storage, secrets, insights", db.name), &[]);
    let name = ctx.name(&db.name, 63);
    file.resource(
        "aws_db_subnet_group",
        &id,
        obj([
            ("description", lit(format!("Persistence subnets of {name}"))),
            ("name", lit(&name)),
            ("subnet_ids", refs(ctx.subnet_ids(SegmentRole::Persistence))),
            ("tags", tags(&name, &[])),
        ]),
    );
    let param = |n: &str, v: &str| obj([("name", lit(n)), ("value", lit(v))]);
    let params = crate::emit::names::shortened(format!("{name}-pg{}", db.version), 255);
    file.resource(
        "aws_db_parameter_group",
        &id,
        obj([
            ("description", lit(format!("TLS only, DDL and slow statements logged ({name})"))),
            ("family", lit(format!("postgres{}", db.version))),
            ("lifecycle", obj([("create_before_destroy", Value::Bool(true))])),
            ("name", lit(&params)),
            (
                "parameter",
                Value::Array(vec![
                    param("log_connections", "1"),
                    param("log_min_duration_statement", &SLOW_QUERY_MS.to_string()),
                    param("log_statement", "ddl"),
                    param("rds.force_ssl", "1"),
                ]),
            ),
            ("tags", tags(&params, &[])),
        ]),
    );
    let mut body = instance_common(db, &id, &key, &name);
    for (k, v) in [
        ("allocated_storage", Value::from(db.storage_gib)),
        ("backup_retention_period", Value::from(db.backup_retention_days)),
        ("db_name", lit(&db.database)),
        ("db_subnet_group_name", reference_of(&["aws_db_subnet_group.", &id, ".name"])),
        ("final_snapshot_identifier", lit(crate::emit::names::shortened(format!("{name}-final"), 255))),
        ("manage_master_user_password", Value::Bool(true)),
        ("master_user_secret_kms_key_id", reference_of(&["aws_kms_key.", &key, ".arn"])),
        ("port", Value::from(db.port)),
        ("skip_final_snapshot", Value::Bool(false)),
        ("storage_type", lit("gp3")),
        ("username", lit(MASTER_USER)),
    ] {
        super::json::set(&mut body, k, v);
    }
    file.resource("aws_db_instance", &id, body);

    for n in 1..=db.replicas {
        let replica_name = ctx.name(&format!("{}-replica-{n}", db.name), 63);
        let mut body = instance_common(db, &id, &key, &replica_name);
        super::json::set(&mut body, "replicate_source_db", reference_of(&["aws_db_instance.", &id, ".identifier"]));
        // A replica is rebuilt from its source, not restored from its own snapshot.
        super::json::set(&mut body, "skip_final_snapshot", Value::Bool(true));
        file.resource("aws_db_instance", &format!("{id}_replica_{n}"), body);
    }

    file.resource(
        "aws_route53_record",
        &id,
        obj([
            ("name", lit(&db.host)),
            ("records", Value::Array(vec![reference_of(&["aws_db_instance.", &id, ".address"])])),
            ("ttl", Value::from(60)),
            ("type", lit("CNAME")),
            ("zone_id", reference("aws_route53_zone.internal.zone_id")),
        ]),
    );
}

/// What the writer and its replicas share.
fn instance_common(db: &Postgres, id: &str, key: &str, identifier: &str) -> Value {
    let key_arn = reference_of(&["aws_kms_key.", key, ".arn"]);
    obj([
        ("auto_minor_version_upgrade", Value::Bool(true)),
        ("ca_cert_identifier", lit("rds-ca-rsa2048-g1")),
        ("copy_tags_to_snapshot", Value::Bool(true)),
        ("deletion_protection", Value::Bool(db.deletion_protection)),
        ("enabled_cloudwatch_logs_exports", lits(["postgresql", "upgrade"])),
        ("engine", lit("postgres")),
        ("engine_version", lit(db.version.to_string())),
        ("iam_database_authentication_enabled", Value::Bool(true)),
        ("identifier", lit(identifier)),
        ("instance_class", lit(db.class.as_deref().unwrap_or(DEFAULT_CLASS))),
        ("kms_key_id", key_arn.clone()),
        ("monitoring_interval", Value::from(MONITORING_INTERVAL)),
        ("monitoring_role_arn", reference("aws_iam_role.rds_monitoring.arn")),
        ("multi_az", Value::Bool(db.multi_az)),
        ("parameter_group_name", reference_of(&["aws_db_parameter_group.", id, ".name"])),
        ("performance_insights_enabled", Value::Bool(true)),
        ("performance_insights_kms_key_id", key_arn),
        ("performance_insights_retention_period", Value::from(7)),
        ("publicly_accessible", Value::Bool(false)),
        ("storage_encrypted", Value::Bool(true)),
        ("tags", tags(identifier, &[])),
        // Its own group, which admits only the services that connect to this database.
        (
            "vpc_security_group_ids",
            refs([format!("aws_security_group.{}.id", super::security::postgres_group(&db.name))]),
        ),
    ])
}
