"""The directory: systems, the roster, contacts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Text
from sqlmodel import Field

from .columns import TableModel, json_dict, json_list


class System(TableModel, table=True):
    """The system catalog: what can fail, who looks after it, who supports it."""

    __tablename__ = "systems"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(120), nullable=False, unique=True))
    duty_area: str | None = Field(default=None, sa_column=Column(String(32)))
    vendor_contact: str | None = Field(default=None, sa_column=Column(String(64)))
    maintenance_contract: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    parent_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("systems.id"), nullable=True))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class RosterMember(TableModel, table=True):
    """A member of the emergency group (应急小组): can own incidents."""

    __tablename__ = "roster_members"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(120), nullable=False))
    permission: str = Field(sa_column=Column(String(16), nullable=False))
    duties: list[str] = json_list()
    phone: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    email: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    on_duty: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    channels: dict[str, Any] = json_dict()
    demo: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    lang: str = Field(default="", sa_column=Column(String(8), nullable=False, default=""))  # "" = the center's


class Contact(TableModel, table=True):
    """Someone who is told or escalated to, never an owner (leadership, vendors...)."""

    __tablename__ = "contacts"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(120), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    phone: str = Field(default="", sa_column=Column(String(40), nullable=False, default=""))
    email: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    channels: dict[str, Any] = json_dict()
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    lang: str = Field(default="", sa_column=Column(String(8), nullable=False, default=""))  # "" = the center's
