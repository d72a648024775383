"""Files per location; per-item leases for workers sharing a ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing files keep location "", which every location reads as its own until it
    # records the item again.
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.String(length=500), nullable=False,
                                      server_default=""))
        batch_op.drop_constraint("uq_files_path", type_="unique")
        batch_op.create_unique_constraint("uq_files_location_path", ["location", "path"])

    op.create_table(
        "leases",
        sa.Column("item_key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=600), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("item_key", "scope", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_constraint("uq_files_location_path", type_="unique")
        batch_op.create_unique_constraint("uq_files_path", ["path"])
        batch_op.drop_column("location")
