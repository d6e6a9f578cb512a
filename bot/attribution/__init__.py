"""Attribution: who publishes what we cite, how many independent outlets say it, what kind of claim each bullet is, and how it is cited."""
