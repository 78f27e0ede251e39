#Requires -Version 5.1
<#
    Pester 5 tests of the target lookup in NomadIis.Deploy.ps1, with a
    stand-in for the Microsoft.Web.Administration site, application and
    virtual directory a switch names.
#>

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '..\NomadIis.psm1') -Force -DisableNameChecking

    # A stand-in for a ServerManager with one site, its root application
    # (in the given pool) and the application's root virtual directory.
    function New-FakeSwitchServerManager
    {
        param ([System.String] $PoolName)
        $directory = [pscustomobject] @{ Path = '/'; PhysicalPath = 'C:\alloc\web\local\v1' }
        $application = [pscustomobject] @{ Path = '/'; ApplicationPoolName = $PoolName; VirtualDirectories = @($directory) }
        return [pscustomobject] @{ Sites = @([pscustomobject] @{ Name = 'nomad-1234-web'; Applications = @($application) }) }
    }

    $script:Target = @{ SiteName = 'nomad-1234-web'; ApplicationPath = '/'; VirtualDirectoryPath = '/' }
}

AfterAll {
    Remove-Module -Name 'NomadIis' -Force -ErrorAction SilentlyContinue
}

Describe 'Get-SwitchTarget' {
    It 'returns the site, the virtual directory and the pool of the application' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ ServerManager = (New-FakeSwitchServerManager -PoolName 'nomad-1234-web'); Target = $script:Target } -ScriptBlock {
            param ($ServerManager, $Target)
            $found = Get-SwitchTarget -ServerManager $ServerManager -Plan $Target
            $found.PoolName | Should -BeExactly 'nomad-1234-web'
            $found.Directory.PhysicalPath | Should -BeExactly 'C:\alloc\web\local\v1'
            $found.Site.Name | Should -BeExactly 'nomad-1234-web'
        }
    }

    It 'answers an application without a pool with NotFound before any pool is stopped' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ ServerManager = (New-FakeSwitchServerManager -PoolName ''); Target = $script:Target } -ScriptBlock {
            param ($ServerManager, $Target)
            { Get-SwitchTarget -ServerManager $ServerManager -Plan $Target } |
                Should -Throw -ErrorId 'NomadIis.NotFound' -ExpectedMessage "application '/' of website 'nomad-1234-web' names no application pool"
        }
    }
}

Describe 'Get-WarmupUri' {
    It 'builds the URL from the first http binding: <Information>' -TestCases @(
        @{ Information = '*:8080:'; Expected = 'http://127.0.0.1:8080/health' }
        @{ Information = '10.0.0.5:8080:'; Expected = 'http://10.0.0.5:8080/health' }
        @{ Information = '[::1]:8080:'; Expected = 'http://[::1]:8080/health' }
        @{ Information = '*:8080:www.example.org'; Expected = 'http://www.example.org:8080/health' }
    ) {
        param ($Information, $Expected)
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Information = $Information; Expected = $Expected } -ScriptBlock {
            param ($Information, $Expected)
            $site = [pscustomobject] @{ Name = 'nomad-1234-web'; Bindings = @([pscustomobject] @{ Protocol = 'http'; BindingInformation = $Information }) }
            Get-WarmupUri -Site $site -UrlPath '/health' | Should -BeExactly $Expected
        }
    }
}
