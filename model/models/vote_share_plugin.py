"""vote_share_plugin: the vote-share model with the reported IE totals taken at face value."""

from __future__ import annotations

from model.models.vote_share import VoteShareModel


class VoteSharePlugin(VoteShareModel):
    """Vote shares with plug-in money: the standard linear predictor on the reported totals."""

    name = "vote_share_plugin"
    label = "Bayes: vote share, plug-in money"
    description = "The vote-share model with the reported dollar figures taken at face value."
