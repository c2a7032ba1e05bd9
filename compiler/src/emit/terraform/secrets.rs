//! `secrets.tf.json`: one Secrets Manager secret per declared secret, named exactly its
//! path and encrypted with the environment's secrets CMK. Never a value: the secret's
//! owner puts it (no `aws_secretsmanager_secret_version`); deletion keeps the default
//! recovery window.

use super::iam;
use super::json::{ident, lit, obj, reference, tags, TfFile};
use super::Ctx;

/// Renders `secrets.tf.json`.
pub fn emit(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let mut file = TfFile::new(&ctx.header("Secret containers (never values) in Secrets Manager."));
    iam::kms_key(
        &mut file,
        ctx,
        "secrets",
        "secrets",
        "Secrets Manager secrets",
        // Secrets Manager uses the key with its caller's permissions (kms:ViaService), so the
        // account-root statement (which enables IAM policies) is all the key policy needs.
        &[],
    );
    for secret in &ctx.env.resources.secrets {
        let Some(path) = &secret.path else { continue };
        let description = secret.doc.clone().unwrap_or_else(|| format!("secret `{}` of {}", secret.name, ctx.prefix));
        file.resource(
            "aws_secretsmanager_secret",
            &ident(&secret.name),
            obj([
                ("description", lit(description)),
                ("kms_key_id", reference("aws_kms_key.secrets.arn")),
                ("name", lit(path)),
                ("tags", tags(path, &[])),
            ]),
        );
    }
    Ok(file)
}
