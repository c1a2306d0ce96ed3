"""What the calls return."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RankResult:
    event_id: str
    reward_action_id: str
    """The action to show (== ranking[0][0])."""
    ranking: list[tuple[str, float]] = field(default_factory=list)
    """Every action with its probability, most recommended first; excluded ones last with 0."""
    model_version: int = 0


@dataclass(frozen=True)
class ServerStatus:
    model_version: int = 0
    rank_calls: int = 0
    reward_calls: int = 0
    learned_events: int = 0
    pending_events: int = 0
    activate_calls: int = 0
    unmatched_rewards: int = 0
    unmatched_activations: int = 0
    dropped_not_activated: int = 0
    backpressure_stalls: int = 0
    published_at_unix_ms: int = 0
