"""runs captured during a fine-tune: train_job_id and train_step; job_id nullable

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:30:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.alter_column("job_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("train_job_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("train_step", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_runs_train_job_id_jobs", "jobs", ["train_job_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_runs_train_job_id", ["train_job_id"])


def downgrade() -> None:
    op.execute("DELETE FROM runs WHERE job_id IS NULL")
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_index("ix_runs_train_job_id")
        batch_op.drop_constraint("fk_runs_train_job_id_jobs", type_="foreignkey")
        batch_op.drop_column("train_step")
        batch_op.drop_column("train_job_id")
        batch_op.alter_column("job_id", existing_type=sa.Integer(), nullable=False)
