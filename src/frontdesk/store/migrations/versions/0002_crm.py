"""CRM records (spec/crmod-cti.md §7): one row per record, user and tenant meta document.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_records",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(120), nullable=False),
        sa.Column("collection", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_crm_records"),
    )
    op.create_index("ix_crm_records_collection", "crm_records", ["tenant_id", "collection"])


def downgrade() -> None:
    op.drop_index("ix_crm_records_collection", table_name="crm_records")
    op.drop_table("crm_records")
