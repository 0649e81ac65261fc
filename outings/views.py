from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def index(request: HttpRequest) -> HttpResponse:
    """List upcoming outings."""
    return render(request, "outings/index.html")
