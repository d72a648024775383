"""A server task may serve several items: task ids are no longer unique.

Two datasets can ask the server for the very same thing (one prepackaged FileID,
named twice); they now share one task instead of making twins, which the
server's duplicate rule would then hold against every later request.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tasks_task_id", type_="unique")
        batch_op.create_index("ix_tasks_task_id", ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_task_id")
        batch_op.create_unique_constraint("uq_tasks_task_id", ["task_id"])
