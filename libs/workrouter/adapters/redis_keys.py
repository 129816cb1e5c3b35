"""The Redis keys of the live state (RedisAgentStore, the pull indexes, the agents' inboxes).

Key layout under `prefix` (default "wr"); `{agent_id}` is a Redis Cluster hash tag:
    {p}:agent:{a}         hash  capacity, exclusive (JSON), skills, queues (JSON), auto_answer,
                                presence, reason, since, version, given_at and freed_at (idle clock)
    {p}:agent:{a}:load    hash  channel -> tasks held on it (no zero fields)
    {p}:agent:{a}:held    set   task ids held by the agent
    {p}:holder:<task>     hash  agent, channel, kind, since  (exists only while the task is held)
    {p}:agents            set   agent ids with a profile (for rebuilds)
    {p}:heartbeats        zset  agents not offline, scored by last heartbeat
    {p}:tasks:<domain>    hash  task id -> JSON queue entry (domain/routing/entry.py; rebuilds, workbins)
    {p}:retired:<domain>  zset  ids of TaskClassified events the router has finished with, scored by when
                                (a redelivered copy must not queue an ended or re-filed task again);
                                the newest `max_retired` kept at most (about 144 B each)
    {p}:owner:<domain>    string how many times a router has taken the domain over (rebuilt it from here)
    {p}:pull:<domain>:<queue>:static|urgent:<class>, {p}:pullclasses:<domain>:<queue>, {p}:parked:<domain>:<agent>
                                the pull indexes the api reads workbins and get-next from (redis_pull_index.py)
    {p}:inbox:<agent>     pub/sub channel: what happened to the agent's work (offers, revokes, ...)
"""

from __future__ import annotations


class AgentKeys:
    """The keys under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def agent(self, agent_id: str) -> str:
        return f"{self.prefix}:agent:{{{agent_id}}}"

    def load(self, agent_id: str) -> str:
        return f"{self.prefix}:agent:{{{agent_id}}}:load"

    def held(self, agent_id: str) -> str:
        return f"{self.prefix}:agent:{{{agent_id}}}:held"

    def holder(self, task_id: str) -> str:
        return f"{self.prefix}:holder:{task_id}"

    def tasks(self, domain: str) -> str:
        return f"{self.prefix}:tasks:{domain}"

    def retired(self, domain: str) -> str:
        return f"{self.prefix}:retired:{domain}"

    def owner(self, domain: str) -> str:
        return f"{self.prefix}:owner:{domain}"

    def inbox(self, agent_id: str) -> str:
        return f"{self.prefix}:inbox:{agent_id}"

    @property
    def agents(self) -> str:
        return f"{self.prefix}:agents"

    @property
    def heartbeats(self) -> str:
        return f"{self.prefix}:heartbeats"

    @property
    def live_agents(self) -> str:
        """Hash: agent id -> the agent as a supervisor set it (config/live_agents.py), `null` when removed."""
        return f"{self.prefix}:agents:live"

    @property
    def live_version(self) -> str:
        """Counter: bumped with every change of `live_agents`, so readers reload only when it moved."""
        return f"{self.prefix}:agents:live:version"

    def live_view(self, domain: str) -> str:
        """String (expiring): the domain's live view for supervisors, written by its router."""
        return f"{self.prefix}:live:{domain}"
