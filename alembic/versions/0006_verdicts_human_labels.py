"""verdicts of several classifiers, human labels, imported evaluations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:20:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _per_completion(name: str, *columns: sa.Column, unique: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("completion_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        *columns,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["completion_id"], ["completions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("completion_id", unique),
    )


def upgrade() -> None:
    _per_completion(
        "verdicts",
        sa.Column("classifier", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        unique="classifier",
    )
    _per_completion(
        "human_labels",
        sa.Column("labeller", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        unique="labeller",
    )
    with op.batch_alter_table("evaluations") as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="generated")
        )
        batch_op.add_column(
            sa.Column("classifier_metrics", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.alter_column("job_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("model_id", existing_type=sa.Integer(), nullable=True)
    # the verdict each completion already holds is its evaluation classifier's
    op.execute(
        "INSERT INTO verdicts (completion_id, verdict, classifier, rule, created_at) "
        "SELECT c.id, c.verdict, COALESCE(e.params ->> 'classifier', 'rules'), c.rule, "
        "e.created_at FROM completions c JOIN evaluations e ON e.id = c.evaluation_id"
        if op.get_bind().dialect.name == "postgresql"
        else "INSERT INTO verdicts (completion_id, verdict, classifier, rule, created_at) "
        "SELECT c.id, c.verdict, COALESCE(json_extract(e.params, '$.classifier'), 'rules'), "
        "c.rule, e.created_at FROM completions c JOIN evaluations e ON e.id = c.evaluation_id"
    )


def downgrade() -> None:
    op.execute("DELETE FROM evaluations WHERE job_id IS NULL OR model_id IS NULL")
    with op.batch_alter_table("evaluations") as batch_op:
        batch_op.alter_column("model_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("job_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("classifier_metrics")
        batch_op.drop_column("source")
    op.drop_table("human_labels")
    op.drop_table("verdicts")
