"""What every face and domain shares below the domains: envelopes, paging, request dependencies."""
