using System.Text;
using System.Threading.Tasks;
using DhubBatches.Emulator.Hosting;
using Microsoft.AspNetCore.Http;

namespace DhubBatches.Emulator.Prefect.Api;

/// <summary>
/// The Prefect UI: a real server serves its single-page app outside the API and answers any unknown non-API path
/// with its <c>index.html</c> (200, <c>text/html</c>; <c>src/prefect/server/api/server.py</c>). So a client that forgot
/// <c>/api</c> in its URL gets HTML that must not look like success.
/// </summary>
internal static class UiFallback
{
    private const string Page =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Prefect</title>\n"
        + "<link rel=\"icon\" href=\"/favicon.ico\">\n</head>\n<body>\n<div id=\"app\"></div>\n"
        + "<script type=\"module\" src=\"/assets/index.js\"></script>\n</body>\n</html>\n";

    public static Task WriteAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            // Starlette's static files answer other methods with a plain-text 405.
            context.Response.Headers.Allow = "GET, HEAD";
            return JsonResponse.WriteBytesAsync(context, 405, Encoding.UTF8.GetBytes("Method Not Allowed"), "text/plain; charset=utf-8");
        }

        return JsonResponse.WriteBytesAsync(context, 200, Encoding.UTF8.GetBytes(Page), "text/html; charset=utf-8");
    }
}
